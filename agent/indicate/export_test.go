package indicate

// Writes counts device writes made so far.
func (a *Applier) Writes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.writes
}
