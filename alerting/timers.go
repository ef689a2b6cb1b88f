package alerting

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Timers calls Fire(id, step) once each escalation's due time comes. One
// goroutine (Run) sleeps until the earliest due time of a heap, so 10,000
// pending timers cost one runtime timer. Setting an id again replaces its
// timer. Fire runs on Run's goroutine and must not block; firing is only
// a hint: the store decides whether the step still applies (a timer that
// fires twice moves nothing twice).
type Timers struct {
	Fire func(id string, step int)

	mu   sync.Mutex
	h    timerHeap
	byID map[string]*timer
	wake chan struct{}
}

type timer struct {
	id    string
	step  int
	due   time.Time
	index int
}

// NewTimers returns timers that call fire.
func NewTimers(fire func(id string, step int)) *Timers {
	return &Timers{Fire: fire, byID: map[string]*timer{}, wake: make(chan struct{}, 1)}
}

// Set makes id fire for step at due (at once if due has passed).
func (t *Timers) Set(id string, step int, due time.Time) {
	t.mu.Lock()
	if x := t.byID[id]; x != nil {
		x.step, x.due = step, due
		heap.Fix(&t.h, x.index)
	} else {
		x = &timer{id: id, step: step, due: due}
		heap.Push(&t.h, x)
		t.byID[id] = x
	}
	t.mu.Unlock()
	t.poke()
}

// Cancel drops id's timer.
func (t *Timers) Cancel(id string) {
	t.mu.Lock()
	if x := t.byID[id]; x != nil {
		heap.Remove(&t.h, x.index)
		delete(t.byID, id)
	}
	t.mu.Unlock()
}

// Len is how many timers are pending.
func (t *Timers) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.h)
}

func (t *Timers) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Run fires timers until ctx ends.
func (t *Timers) Run(ctx context.Context) error {
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	for {
		now := time.Now()
		var due []*timer
		t.mu.Lock()
		for len(t.h) > 0 && !t.h[0].due.After(now) {
			x := heap.Pop(&t.h).(*timer)
			delete(t.byID, x.id)
			due = append(due, x)
		}
		wait := time.Hour
		if len(t.h) > 0 {
			wait = t.h[0].due.Sub(now)
		}
		t.mu.Unlock()
		for _, x := range due {
			t.Fire(x.id, x.step)
		}
		sleep.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-t.wake:
		case <-sleep.C:
		}
	}
}

type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) { t := x.(*timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
