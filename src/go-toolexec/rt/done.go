package rt

// The deferred end of an instrumented call: `defer s.Done(&ok)` or `defer __cti.Done1(s, &ok, …)`
// instead of a generated closure (`defer func() { if s.Returned(ok) { s.Return(r0); s.Error(err) };
// s.End(ok) }()`). A closure of ours at the top of every function shifted the numbers Go gives the
// function's own closures (F.func2 in crash text where the original says F.func1); a deferred
// call names its wrapper F.deferwrapN instead. (Compile time was measured the same either way.)
// They get pointers to the flag and the results, read when the deferred call runs (so a result
// set by a later deferred call is seen, as the closure saw it); the pointers are not kept, so the
// variables stay on the caller's stack. The results are copied only when the span is recorded.
// Done1-3 are generic (the static type boxes the value, as the closure did); the instrumenter
// uses them only where the file's Go version allows generics, and keeps the closure for more
// results.

// Done ends a call whose results are not shown (it has none, or one of them is _).
func (s *Span) Done(ok *bool) {
	s.End(*ok)
}

// DoneE ends a call whose only shown result is its trailing error.
func (s *Span) DoneE(ok *bool, err *error) {
	if s.Returned(*ok) {
		s.Error(*err)
	}
	s.End(*ok)
}

// Done1 ends a call with one shown result a, and a trailing error unless err is nil.
func Done1[A any](s *Span, ok *bool, err *error, a *A) {
	if s.Returned(*ok) {
		if s.rec {
			s.Return(*a)
		}
		if err != nil {
			s.Error(*err)
		}
	}
	s.End(*ok)
}

// Done2 is Done1 for two shown results.
func Done2[A, B any](s *Span, ok *bool, err *error, a *A, b *B) {
	if s.Returned(*ok) {
		if s.rec {
			s.Return(*a, *b)
		}
		if err != nil {
			s.Error(*err)
		}
	}
	s.End(*ok)
}

// Done3 is Done1 for three shown results.
func Done3[A, B, C any](s *Span, ok *bool, err *error, a *A, b *B, c *C) {
	if s.Returned(*ok) {
		if s.rec {
			s.Return(*a, *b, *c)
		}
		if err != nil {
			s.Error(*err)
		}
	}
	s.End(*ok)
}
