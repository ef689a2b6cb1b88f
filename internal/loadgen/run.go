package loadgen

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// run is the state of one Run.
type run struct {
	cfg        Config
	table      *table
	devs       []*device
	groupTopic string       // Baseline group mode: the topic the group's members subscribe to
	startNs    atomic.Int64 // unix nanoseconds when sending began; older bodies are stale
	next       []atomic.Uint64

	delivered, duplicates, misrouted, stale atomic.Int64
	replies, receipts, notifies             atomic.Int64
	acksSent, ackErrors, disconnects        atomic.Int64
	expected                                atomic.Int64      // recipients of acked sends so far
	outstanding                             atomic.Int64      // publishes waiting for their PUBACK
	refusedBy                               [256]atomic.Int64 // refused sends by PUBACK reason code

	mu          sync.Mutex
	replyErrors map[string]int64
}

// Run connects the devices, sends for the configured duration, waits for
// stragglers and reports what it measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	defer tuneGC()()
	r := &run{cfg: cfg, replyErrors: map[string]int64{}, next: make([]atomic.Uint64, cfg.Senders)}
	recipients := 1
	if cfg.GroupSize > 0 {
		recipients = cfg.GroupSize
		r.groupTopic = "wl/v1/group/" + cfg.Group + "/in/msg"
	}
	r.table = newTable(cfg.Senders, recipients)
	res := &Result{Target: cfg.Target, Addr: cfg.Addr, TLS: cfg.TLS != nil, Devices: len(cfg.Devices), Senders: cfg.Senders,
		Rate: cfg.Rate, Inflight: cfg.Inflight, Body: cfg.Body, GroupSize: cfg.GroupSize, Idle: cfg.Idle, PID: cfg.PID}
	if cfg.Idle {
		res.Senders, res.Rate, res.Inflight, res.Body = 0, 0, 0, 0
	}

	rss := sampleRSS(cfg.PID, 250*time.Millisecond)
	res.RSSBefore = rss.now()
	stop := make(chan struct{})
	var ackers sync.WaitGroup
	var stopOnce sync.Once
	flushAcks := func() {
		stopOnce.Do(func() { close(stop) })
		ackers.Wait()
	}
	defer func() {
		flushAcks()
		r.closeAll()
	}()

	fmt.Fprintf(cfg.Progress, "%s: connecting %d devices to %s...\n", cfg.Target, len(cfg.Devices), cfg.Addr)
	t0 := time.Now()
	if err := r.connectAll(ctx); err != nil {
		rss.finish()
		return nil, err
	}
	res.ConnectSeconds = round3(time.Since(t0).Seconds())
	res.Connected = len(r.devs)
	res.RSSConnected = rss.now()
	fmt.Fprintf(cfg.Progress, "%s: %d devices connected in %.1fs\n", cfg.Target, res.Connected, res.ConnectSeconds)
	if cfg.Target.deviceAPI() {
		for _, d := range r.devs {
			ackers.Add(1)
			go func() { defer ackers.Done(); d.ackLoop(stop) }()
		}
	}

	if cfg.Idle {
		fmt.Fprintf(cfg.Progress, "%s: holding the connections for %s...\n", cfg.Target, cfg.Duration)
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Duration):
		}
		res.RSSEnd = rss.now()
		res.RSSPeak = rss.finish()
		res.Disconnects = r.disconnects.Load()
		res.WindowSeconds = cfg.Duration.Seconds()
		if n := int64(res.Connected); n > 0 && res.RSSEnd > res.RSSBefore {
			res.RSSPerDevice = (res.RSSEnd - res.RSSBefore) / n
		}
		return res, ctx.Err()
	}

	if cfg.Target == Appliance { // a fresh baseline or protocol broker holds nothing from before
		res.Drained, res.DrainSeconds = r.drain(ctx)
	}
	if res.Drained > 0 {
		fmt.Fprintf(cfg.Progress, "%s: %d messages of earlier runs arrived in %.1fs before sending\n", cfg.Target, res.Drained, res.DrainSeconds)
	}
	window, benchCPU, targetCPU := r.send(ctx)
	flushAcks() // so that the ack counts are final
	res.WindowSeconds = round3(window.Seconds())
	res.BenchCPUPercent = cpuPercent(benchCPU, window)
	if cfg.PID != 0 {
		res.TargetCPU = cpuPercent(targetCPU, window)
	}
	res.RSSEnd = rss.now()
	res.RSSPeak = rss.finish()
	if n := int64(res.Connected); n > 0 && res.RSSConnected > res.RSSBefore {
		res.RSSPerDevice = (res.RSSConnected - res.RSSBefore) / n
	}
	r.fill(res, window)
	res.BenchCPUPerMsg = perMessage(benchCPU, res.Acked)
	if cfg.PID != 0 {
		res.TargetCPUPerMsg = perMessage(targetCPU, res.Acked)
	}
	return res, nil
}

// perMessage is CPU time per acknowledged send, in microseconds.
func perMessage(cpu time.Duration, acked int64) float64 {
	if acked <= 0 {
		return 0
	}
	return math.Round(float64(cpu.Microseconds())/float64(acked)*10) / 10
}

func cpuPercent(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return float64(int(cpu.Seconds()/wall.Seconds()*1000)) / 10
}

// connectAll connects every device, ConnectConcurrency at a time. It fails
// when any device cannot connect.
func (r *run) connectAll(ctx context.Context) error {
	n := len(r.cfg.Devices)
	r.devs = make([]*device, n)
	sem := make(chan struct{}, r.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr error
	var once sync.Once
	for i := range n {
		id := r.cfg.Devices[i].ID
		d := &device{r: r, idx: i, id: id, prefix: "wl/v1/" + id + "/in/", ackKick: make(chan struct{}, 1)}
		r.devs[i] = d
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := d.connect(ctx); err != nil {
				failed.Add(1)
				once.Do(func() { firstErr = fmt.Errorf("device %s: %w", id, err) })
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d devices could not connect; the first: %w", f, n, firstErr)
	}
	return nil
}

// closeAll disconnects every device, a few at a time.
func (r *run) closeAll() {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for _, d := range r.devs {
		if d == nil || d.cli == nil {
			continue
		}
		d.closed.Store(true)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = d.cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
			select {
			case <-d.cli.Done():
			case <-time.After(2 * time.Second):
			}
		}()
	}
	wg.Wait()
}

// drain waits until what the target still held for the devices from
// earlier runs (messages of sends that were never acknowledged, receipts)
// has arrived, so that it does not count against this run: until nothing
// arrives for a second, at most a minute. It returns how many stale
// messages arrived and how long it took, and resets the counters.
func (r *run) drain(ctx context.Context) (int64, float64) {
	const quietFor, atMost = time.Second, time.Minute
	t0 := time.Now()
	activity := func() int64 {
		return r.stale.Load() + r.receipts.Load() + r.notifies.Load() + r.acksSent.Load() + r.replies.Load()
	}
	last, quiet := activity(), time.Now()
	for ctx.Err() == nil && time.Since(t0) < atMost && time.Since(quiet) < quietFor {
		time.Sleep(100 * time.Millisecond)
		if cur := activity(); cur != last {
			last, quiet = cur, time.Now()
		}
	}
	n := r.stale.Swap(0)
	r.receipts.Store(0)
	r.notifies.Store(0)
	r.acksSent.Store(0)
	r.ackErrors.Store(0)
	r.replies.Store(0)
	r.misrouted.Store(0)
	if n == 0 {
		return 0, 0
	}
	return n, round3(time.Since(t0).Seconds() - quietFor.Seconds())
}

// send runs the senders for the duration, then waits for late PUBACKs and
// deliveries. It returns the send window and the CPU time this process and
// the measured process used during it.
func (r *run) send(ctx context.Context) (window, benchCPU, targetCPU time.Duration) {
	cfg := r.cfg
	start := time.Now()
	r.startNs.Store(start.UnixNano())
	end := start.Add(cfg.Duration)
	cpu0, tcpu0 := selfCPU(), r.targetCPU()
	// Publishes still unacknowledged when the stragglers' wait is over fail.
	pubCtx, cancel := context.WithDeadline(ctx, end.Add(cfg.Straggle))
	defer cancel()

	if cfg.Rate > 0 {
		fmt.Fprintf(cfg.Progress, "%s: sending %g messages/s for %s...\n", cfg.Target, cfg.Rate, cfg.Duration)
	} else {
		fmt.Fprintf(cfg.Progress, "%s: sending as fast as possible (%d in flight per sender) for %s...\n", cfg.Target, cfg.Inflight, cfg.Duration)
	}
	var wg sync.WaitGroup
	for s := range cfg.Senders {
		for w := range cfg.Inflight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.worker(ctx, pubCtx, s, w, start, end)
			}()
		}
	}
	// The window closes at the end of the duration, or earlier when the
	// context is cancelled.
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(end)):
	}
	window = time.Since(start)
	if window > cfg.Duration {
		window = cfg.Duration
	}
	fmt.Fprintf(cfg.Progress, "%s: waiting up to %s for late PUBACKs and deliveries...\n", cfg.Target, cfg.Straggle)
	deadline := end.Add(cfg.Straggle)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.outstanding.Load() == 0 && r.delivered.Load() >= r.expected.Load() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return window, selfCPU() - cpu0, r.targetCPU() - tcpu0
}

func (r *run) targetCPU() time.Duration {
	if r.cfg.PID == 0 {
		return 0
	}
	d, _ := ProcessCPU(r.cfg.PID)
	return d
}

// worker is one of a sender's Inflight publishers: it takes the sender's
// next sequence number, waits for its turn when a rate is set, publishes
// and waits for the PUBACK.
func (r *run) worker(ctx, pubCtx context.Context, s, w int, start, end time.Time) {
	cfg := r.cfg
	d := r.devs[s]
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(s)<<20|uint64(w)))
	var interval float64 // nanoseconds between two sends of all senders
	if cfg.Rate > 0 {
		interval = 1e9 / cfg.Rate
	}
	topic := "wl/v1/" + d.id + "/out/send"
	want := int32(1)
	if g := cfg.GroupSize; g > 0 {
		want = int32(g)
		if s < g {
			want-- // the sender is never a recipient
		}
	}
	buf := make([]byte, 0, cfg.Body+160)
	for ctx.Err() == nil {
		seq := r.next[s].Add(1) - 1
		if cfg.Rate > 0 {
			// The senders take turns: send seq of sender s is the
			// (seq*Senders + s)-th of the run.
			at := start.Add(time.Duration(float64(seq*uint64(cfg.Senders)+uint64(s)) * interval))
			if !at.Before(end) {
				return
			}
			if wait := time.Until(at); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		} else if !time.Now().Before(end) {
			return
		}
		rec := r.table.get(s, seq, true)
		if rec == nil {
			return
		}
		to := 0
		if cfg.GroupSize == 0 {
			to = rng.IntN(len(r.devs) - 1)
			if to >= s {
				to++ // anyone but the sender
			}
		}
		rec.to.Store(int32(to))
		rec.want.Store(want)
		now := time.Now()
		sentAt := now.UnixNano()
		rec.sentAt.Store(sentAt)
		rec.state.Store(stateInflight)
		p := &paho.Publish{QoS: 1}
		switch {
		case cfg.Target == Baseline && cfg.GroupSize > 0:
			p.Topic = r.groupTopic
			buf = appendBody(buf[:0], s, seq, sentAt, cfg.Body)
		case cfg.Target == Baseline:
			p.Topic = r.devs[to].prefix + "msg"
			buf = appendBody(buf[:0], s, seq, sentAt, cfg.Body)
		default:
			p.Topic = topic
			buf = r.appendSend(buf[:0], s, seq, sentAt, to)
		}
		// paho has written the packet (into packetConn's buffer) when
		// Publish returns, and the device's session keeps no copy
		// (unsentStore), so buf is the worker's again for the next send.
		p.Payload = buf
		r.outstanding.Add(1)
		pr, err := d.cli.Publish(pubCtx, p)
		lat := time.Since(now)
		switch {
		case err == nil:
			rec.puback.Store(int64(lat))
			r.expected.Add(int64(want))
			rec.state.Store(stateAcked)
		case pr != nil && pr.ReasonCode >= 0x80:
			rec.puback.Store(int64(lat))
			rec.state.Store(stateRefused)
			r.refusedBy[pr.ReasonCode].Add(1)
		default:
			rec.state.Store(stateFailed)
		}
		r.outstanding.Add(-1)
	}
}

// appendSend appends the out/send payload of a send.
func (r *run) appendSend(b []byte, s int, seq uint64, sentAt int64, to int) []byte {
	// client_ref makes a send idempotent per device, across runs too: the
	// run's start time keeps a rerun's sends from being taken as repeats.
	b = append(b, `{"client_ref":"b`...)
	b = strconv.AppendInt(b, r.startNs.Load()/1e6, 36)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(s), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `","to":[{`...)
	if r.cfg.GroupSize > 0 {
		b = append(b, `"group":`...)
		b = strconv.AppendQuote(b, r.cfg.Group)
	} else {
		b = append(b, `"user":`...)
		b = strconv.AppendQuote(b, r.cfg.Devices[to].User)
	}
	b = append(b, `}],"body":"`...)
	b = appendBody(b, s, seq, sentAt, r.cfg.Body)
	return append(b, `","priority":"normal"}`...)
}

// reply counts an in/reply answer to a send.
func (r *run) reply(payload []byte) {
	code, failed, ok := decodeReply(payload)
	if !ok {
		return
	}
	r.replies.Add(1)
	if failed {
		r.mu.Lock()
		r.replyErrors[code]++
		r.mu.Unlock()
	}
}

// fill computes the result from the records.
func (r *run) fill(res *Result, window time.Duration) {
	sent := make([]uint64, len(r.next))
	for i := range r.next {
		sent[i] = r.next[i].Load()
	}
	var puback, all []int64
	r.table.each(sent, func(rec *record) {
		st := rec.state.Load()
		if st == stateNone {
			return
		}
		res.Sent++
		switch st {
		case stateAcked:
			res.Acked++
			puback = append(puback, rec.puback.Load())
			want, got := int64(rec.want.Load()), int64(rec.got.Load())
			res.Expected += want
			if got < want {
				res.Lost++
				res.LostRecipient += want - got
			} else {
				res.Complete++
				all = append(all, rec.lastAt.Load()-rec.sentAt.Load())
			}
		case stateRefused:
			res.Refused++
		default:
			res.Unacked++
		}
	})
	for code := range r.refusedBy {
		if n := r.refusedBy[code].Load(); n > 0 {
			if res.RefusedCodes == nil {
				res.RefusedCodes = map[string]int64{}
			}
			res.RefusedCodes[fmt.Sprintf("0x%02x", code)] = n
		}
	}
	r.mu.Lock()
	if len(r.replyErrors) > 0 {
		res.ReplyErrors = maps.Clone(r.replyErrors)
	}
	r.mu.Unlock()
	var lat []int64
	for _, d := range r.devs {
		d.mu.Lock()
		lat = append(lat, d.lat...)
		d.mu.Unlock()
	}
	res.Delivered = r.delivered.Load()
	res.Duplicates = r.duplicates.Load()
	res.Misrouted = r.misrouted.Load()
	res.Stale = r.stale.Load()
	res.Disconnects = r.disconnects.Load()
	res.Replies = r.replies.Load()
	res.Receipts = r.receipts.Load()
	res.Notifies = r.notifies.Load()
	res.AcksSent = r.acksSent.Load()
	res.AckErrors = r.ackErrors.Load()
	res.EndToEnd = summarize(lat)
	res.Puback = summarize(puback)
	if r.cfg.GroupSize > 0 {
		l := summarize(all)
		res.AllRecipients = &l
	}
	res.AckedPerSec = perSecond(res.Acked, window)
	res.DeliveredPS = perSecond(res.Delivered, window)
	res.CompletePS = perSecond(res.Complete, window)
}
