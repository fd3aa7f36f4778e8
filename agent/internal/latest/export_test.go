package latest

// Watchers returns how many subscriptions are open.
func (s *Signal) Watchers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}
