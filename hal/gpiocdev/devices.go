package gpiocdev

import (
	"errors"
	"io"
	"sync"
)

// closeAll closes every closer once, in order, joining the errors. The lamp
// is first in the list, so it goes dark before anything else is released.
func closeAll(cs []io.Closer) io.Closer {
	return &multiCloser{cs: cs}
}

type multiCloser struct {
	once sync.Once
	cs   []io.Closer
	err  error
}

func (m *multiCloser) Close() error {
	m.once.Do(func() {
		var errs []error
		for _, c := range m.cs {
			errs = append(errs, c.Close())
		}
		m.err = errors.Join(errs...)
	})
	return m.err
}
