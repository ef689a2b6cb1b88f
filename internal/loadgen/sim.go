package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// SimConfig describes a simulated badge.
type SimConfig struct {
	Addr   string
	TLS    *tls.Config // nil: plain TCP
	Device Device
	In     io.Reader // command lines
	Out    io.Writer // what the badge shows
}

// ErrConnectionLost is returned by Sim when the appliance closes the
// connection other than after a wipe.
var ErrConnectionLost = errors.New("connection lost")

// simHelp lists the commands of the simulator.
const simHelp = `commands:
  to USER text...      send a message to a user
  group NAME text...   send a message to a group
  read MSGID           mark a message read
  history CNV          show a conversation's last messages
  recall MSGID         recall a message you sent
  search Q             search the directory
  quit                 disconnect and exit`

// Sim runs a badge: it connects as the device, prints what arrives,
// acknowledges each message as delivered, and sends what the input lines
// ask for. It returns nil after "quit", end of input followed by ctx's
// end, or a wipe command (after printing WIPED).
func Sim(ctx context.Context, cfg SimConfig) error {
	s := &sim{cfg: cfg, id: cfg.Device.ID, wiped: make(chan struct{}), lost: make(chan error, 1), pending: map[string]string{}}
	s.prefix = "wl/v1/" + s.id + "/in/"
	cli, err := Connect(ctx, cfg.Addr, cfg.TLS, cfg.Device, s.onPublish, func(err error) {
		select {
		case s.lost <- err:
		default:
		}
	})
	if err != nil {
		return err
	}
	s.cli = cli
	defer func() {
		s.closing.Store(true)
		_ = cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
	}()
	if err := Subscribe(ctx, cli, s.prefix+"#", false); err != nil {
		return err
	}
	s.printf("connected as %s to %s; type 'help' for commands\n", s.id, cfg.Addr)

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(cfg.In)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	in := lines
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wiped:
			return nil
		case err := <-s.lost:
			select {
			case <-s.wiped: // the wipe came just before the connection closed
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			if s.closing.Load() {
				return nil
			}
			return fmt.Errorf("%w: %v", ErrConnectionLost, err)
		case line, ok := <-in:
			if !ok {
				in = nil // keep showing what arrives until interrupted
				s.printf("(end of input: still listening; interrupt to stop)\n")
				continue
			}
			if quit := s.command(ctx, strings.TrimSpace(line)); quit {
				return nil
			}
		}
	}
}

// sim is a running simulator.
type sim struct {
	cfg     SimConfig
	id      string
	prefix  string
	cli     *paho.Client
	mu      sync.Mutex // serializes output
	n       atomic.Int64
	wiped   chan struct{}
	wipe    sync.Once
	lost    chan error
	closing atomic.Bool

	pmu     sync.Mutex
	pending map[string]string // request ref -> op, to print answers readably
}

func (s *sim) printf(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.cfg.Out, format, a...)
}

// command runs one input line; it reports whether to quit.
func (s *sim) command(ctx context.Context, line string) bool {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	arg, text, _ := strings.Cut(rest, " ")
	text = strings.TrimSpace(text)
	switch verb {
	case "":
	case "quit", "exit":
		return true
	case "help", "?":
		s.printf("%s\n", simHelp)
	case "to", "group":
		if arg == "" || text == "" {
			s.printf("usage: %s %s text...\n", verb, map[string]string{"to": "USER", "group": "NAME"}[verb])
			break
		}
		key := map[string]string{"to": "user", "group": "group"}[verb]
		ref := fmt.Sprintf("sim-%d-%d", time.Now().Unix(), s.n.Add(1))
		s.track(ref, "send")
		s.publish(ctx, "send", map[string]any{"client_ref": ref, "to": []map[string]string{{key: arg}}, "body": text, "priority": "normal"})
	case "read":
		if arg == "" {
			s.printf("usage: read MSGID\n")
			break
		}
		s.publish(ctx, "ack", map[string]string{"id": arg, "state": "read"})
	case "history":
		if arg == "" {
			s.printf("usage: history CNV\n")
			break
		}
		s.request(ctx, map[string]any{"op": "history", "conversation": arg})
	case "recall":
		if arg == "" {
			s.printf("usage: recall MSGID\n")
			break
		}
		s.request(ctx, map[string]any{"op": "message.recall", "id": arg})
	case "search":
		s.request(ctx, map[string]any{"op": "directory.search", "q": rest})
	default:
		s.printf("unknown command %q; type 'help'\n", verb)
	}
	return false
}

func (s *sim) track(ref, op string) {
	s.pmu.Lock()
	s.pending[ref] = op
	s.pmu.Unlock()
}

// request sends an out/req with a fresh ref.
func (s *sim) request(ctx context.Context, req map[string]any) {
	ref := fmt.Sprintf("r-%d", s.n.Add(1))
	req["ref"] = ref
	s.track(ref, req["op"].(string))
	s.publish(ctx, "req", req)
}

// publish sends a payload to out/<kind> and reports a refusal.
func (s *sim) publish(ctx context.Context, kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.printf("error: %v\n", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pr, err := s.cli.Publish(pctx, &paho.Publish{Topic: "wl/v1/" + s.id + "/out/" + kind, QoS: 1, Payload: b})
	switch {
	case pr != nil && pr.ReasonCode >= 0x80:
		why := ""
		if pr.Properties != nil && pr.Properties.ReasonString != "" {
			why = ": " + pr.Properties.ReasonString
		}
		s.printf("! %s refused: PUBACK 0x%02x%s\n", kind, pr.ReasonCode, why)
	case err != nil:
		s.printf("! %s failed: %v\n", kind, err)
	}
}

// onPublish shows one incoming PUBLISH.
func (s *sim) onPublish(p paho.PublishReceived) (bool, error) {
	kind, ok := strings.CutPrefix(p.Packet.Topic, s.prefix)
	if !ok {
		kind = p.Packet.Topic
	}
	payload := p.Packet.Payload
	switch kind {
	case "msg":
		s.showMsg(payload)
	case "notify":
		var n struct {
			ID       string `json:"id"`
			Priority string `json:"priority"`
			Unread   int    `json:"unread"`
		}
		_ = json.Unmarshal(payload, &n)
		s.printf("[notify]  %s %s, %d unread\n", n.ID, n.Priority, n.Unread)
	case "receipt":
		var r struct {
			ID, User, State, At string
		}
		_ = json.Unmarshal(payload, &r)
		s.printf("[receipt] %s %s by %s at %s\n", r.ID, r.State, r.User, clock(r.At))
	case "reply":
		s.showReply(payload)
	case "cmd":
		var c struct {
			Cmd string `json:"cmd"`
			ID  string `json:"id"`
		}
		_ = json.Unmarshal(payload, &c)
		switch c.Cmd {
		case "wipe":
			s.closing.Store(true)
			s.printf("WIPED\n")
			s.wipe.Do(func() { close(s.wiped) })
		case "recall":
			s.printf("[cmd]     recall: delete message %s\n", c.ID)
		default:
			s.printf("[cmd]     %s\n", payload)
		}
	default:
		s.printf("[%s] %s\n", kind, payload)
	}
	return true, nil
}

// wireMsg is the part of in/msg the simulator shows.
type wireMsg struct {
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	From         struct {
		User string `json:"user"`
		Name string `json:"name"`
	} `json:"from"`
	To []struct {
		User  string `json:"user"`
		Role  string `json:"role"`
		Group string `json:"group"`
	} `json:"to"`
	Body     string          `json:"body"`
	Priority string          `json:"priority"`
	SentAt   string          `json:"sent_at"`
	Patient  json.RawMessage `json:"patient"`
}

func (m wireMsg) toList() string {
	var parts []string
	for _, a := range m.To {
		switch {
		case a.Role != "":
			parts = append(parts, "role "+a.Role+" ("+a.User+")")
		case a.Group != "":
			parts = append(parts, "group "+a.Group)
		default:
			parts = append(parts, a.User)
		}
	}
	return strings.Join(parts, ", ")
}

func (s *sim) showMsg(payload []byte) {
	var m wireMsg
	if err := json.Unmarshal(payload, &m); err != nil || m.ID == "" {
		s.printf("[msg]     (unreadable) %s\n", payload)
		return
	}
	from := m.From.User
	if m.From.Name != "" {
		from = m.From.Name + " (" + m.From.User + ")"
	}
	prio := ""
	if m.Priority != "" && m.Priority != "normal" {
		prio = strings.ToUpper(m.Priority) + " "
	}
	s.printf("[msg]     %s %sfrom %s to %s: %s\n          id %s, conversation %s", clock(m.SentAt), prio, from, m.toList(), m.Body, m.ID, m.Conversation)
	if len(m.Patient) > 0 && string(m.Patient) != "null" {
		s.printf(", patient %s", m.Patient)
	}
	s.printf("\n")
	go s.publish(context.Background(), "ack", map[string]string{"id": m.ID, "state": "delivered"})
}

func (s *sim) showReply(payload []byte) {
	var r struct {
		Re           string          `json:"re"`
		ID           string          `json:"id"`
		Conversation string          `json:"conversation"`
		Recipients   []string        `json:"recipients"`
		Result       json.RawMessage `json:"result"`
		Error        *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		s.printf("[reply]   %s\n", payload)
		return
	}
	s.pmu.Lock()
	op := s.pending[r.Re]
	delete(s.pending, r.Re)
	s.pmu.Unlock()
	switch {
	case r.Error != nil:
		s.printf("[reply]   %s: error %s: %s\n", r.Re, r.Error.Code, r.Error.Message)
	case r.ID != "" && r.Result == nil:
		s.printf("[reply]   %s: sent %s in %s to %s\n", r.Re, r.ID, r.Conversation, strings.Join(r.Recipients, ", "))
	case op == "history":
		var msgs []wireMsg
		if json.Unmarshal(r.Result, &msgs) != nil {
			s.printf("[reply]   %s: %s\n", r.Re, r.Result)
			return
		}
		s.printf("[reply]   %s: %d messages\n", r.Re, len(msgs))
		for _, m := range msgs {
			s.printf("          %s %s: %s  (%s)\n", clock(m.SentAt), m.From.User, m.Body, m.ID)
		}
	case op == "directory.search":
		var hits []map[string]string
		if json.Unmarshal(r.Result, &hits) != nil {
			s.printf("[reply]   %s: %s\n", r.Re, r.Result)
			return
		}
		s.printf("[reply]   %s: %d found\n", r.Re, len(hits))
		for _, h := range hits {
			switch {
			case h["user"] != "":
				var about []string
				for _, k := range []string{"name", "department", "title"} {
					if h[k] != "" {
						about = append(about, h[k])
					}
				}
				s.printf("          user  %-20s %s\n", h["user"], strings.Join(about, " · "))
			case h["role"] != "":
				s.printf("          role  %s\n", h["role"])
			default:
				s.printf("          group %s\n", h["group"])
			}
		}
	default:
		s.printf("[reply]   %s: %s\n", r.Re, r.Result)
	}
}

// clock shows an RFC 3339 time as local hh:mm:ss, or as it is.
func clock(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	return t.Local().Format("15:04:05")
}
