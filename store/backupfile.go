package store

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wardline/wardline/audit"
)

// A backup file is:
//
//	magic (16 bytes) | header length (4 bytes, big-endian) | header (JSON)
//	then chunks: ciphertext length (4 bytes) | AES-256-GCM ciphertext
//
// The key is derived from the master key and the header's salt (HKDF-SHA256).
// Each chunk's nonce is its index and whether it is the last; its additional
// data is the SHA-256 of magic, length and header. So a changed header, a
// changed, dropped, reordered or truncated chunk, or another key, all fail
// to authenticate.
const (
	backupMagic     = "WARDLINE-BKUP-01"
	backupChunkSize = 64 << 10
	maxHeaderLen    = 64 << 10
)

// ErrBadBackup is wrapped by every error about a backup file's content.
var ErrBadBackup = errors.New("backup file damaged, truncated or not a Wardline backup")

// BackupInfo is the header of a backup file.
type BackupInfo struct {
	Version   int        `json:"version"`
	Instance  string     `json:"instance"`
	Created   time.Time  `json:"created"`
	KeyID     string     `json:"key_id"`
	Salt      []byte     `json:"salt"`
	AuditHead audit.Head `json:"audit_head"`
}

// backupAEAD derives the backup cipher from the master key and salt.
func backupAEAD(master []byte, info BackupInfo) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master, info.Salt, "wardline backup v1 "+info.Instance, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// nonce is chunk i's nonce: the index and a last-chunk flag.
func nonce(i uint64, last bool) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n, i)
	if last {
		n[11] = 1
	}
	return n
}

// sealWriter encrypts a stream into chunks.
type sealWriter struct {
	w    io.Writer
	aead cipher.AEAD
	ad   []byte
	buf  []byte
	n    uint64
}

// newSealWriter writes the file header to w and returns the writer for the
// content.
func newSealWriter(w io.Writer, master []byte, info BackupInfo) (*sealWriter, error) {
	aead, err := backupAEAD(master, info)
	if err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	pre := make([]byte, 0, len(backupMagic)+4+len(hdr))
	pre = append(pre, backupMagic...)
	pre = binary.BigEndian.AppendUint32(pre, uint32(len(hdr)))
	pre = append(pre, hdr...)
	if _, err := w.Write(pre); err != nil {
		return nil, err
	}
	ad := sha256.Sum256(pre)
	return &sealWriter{w: w, aead: aead, ad: ad[:], buf: make([]byte, 0, backupChunkSize)}, nil
}

// Write implements io.Writer.
func (s *sealWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(backupChunkSize-len(s.buf), len(p))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) == backupChunkSize {
			if err := s.seal(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// Close seals the last chunk. Without it the file reads as truncated.
func (s *sealWriter) Close() error { return s.seal(true) }

func (s *sealWriter) seal(last bool) error {
	ct := s.aead.Seal(nil, nonce(s.n, last), s.buf, s.ad)
	s.n++
	s.buf = s.buf[:0]
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(ct)))
	if _, err := s.w.Write(l[:]); err != nil {
		return err
	}
	_, err := s.w.Write(ct)
	return err
}

// ReadBackupInfo reads and checks the header of a backup file.
func ReadBackupInfo(r io.Reader) (BackupInfo, []byte, error) {
	pre := make([]byte, len(backupMagic)+4)
	if _, err := io.ReadFull(r, pre); err != nil || string(pre[:len(backupMagic)]) != backupMagic {
		return BackupInfo{}, nil, fmt.Errorf("%w: no Wardline backup header", ErrBadBackup)
	}
	n := binary.BigEndian.Uint32(pre[len(backupMagic):])
	if n == 0 || n > maxHeaderLen {
		return BackupInfo{}, nil, fmt.Errorf("%w: header length %d", ErrBadBackup, n)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return BackupInfo{}, nil, fmt.Errorf("%w: header truncated", ErrBadBackup)
	}
	var info BackupInfo
	if err := json.Unmarshal(hdr, &info); err != nil || info.Version != 1 || info.Instance == "" || len(info.Salt) < 16 {
		return BackupInfo{}, nil, fmt.Errorf("%w: header unreadable", ErrBadBackup)
	}
	ad := sha256.Sum256(append(pre, hdr...))
	return info, ad[:], nil
}

// openReader decrypts and authenticates the content of a backup file.
type openReader struct {
	r    *bufio.Reader
	aead cipher.AEAD
	ad   []byte
	buf  []byte
	n    uint64
	done bool
}

// newOpenReader reads the header from r and returns it with a reader of the
// authenticated content. master must be the key the backup was made with.
func newOpenReader(r io.Reader, key Key) (BackupInfo, *openReader, error) {
	info, ad, err := ReadBackupInfo(r)
	if err != nil {
		return BackupInfo{}, nil, err
	}
	if info.Instance != key.Instance || info.KeyID != key.ID() {
		return info, nil, fmt.Errorf("%w: the backup was made by instance %s with key %s, and the key file holds key %s of instance %s", ErrWrongKey, info.Instance, info.KeyID, key.ID(), key.Instance)
	}
	aead, err := backupAEAD(key.Secret, info)
	if err != nil {
		return info, nil, err
	}
	return info, &openReader{r: bufio.NewReaderSize(r, backupChunkSize+64), aead: aead, ad: ad}, nil
}

// Read implements io.Reader. It returns ErrBadBackup for any chunk that does
// not authenticate and for a file that ends before its last chunk.
func (o *openReader) Read(p []byte) (int, error) {
	for len(o.buf) == 0 {
		if o.done {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, o.buf)
	o.buf = o.buf[n:]
	return n, nil
}

func (o *openReader) next() error {
	var l [4]byte
	if _, err := io.ReadFull(o.r, l[:]); err != nil {
		return fmt.Errorf("%w: truncated after chunk %d", ErrBadBackup, o.n)
	}
	size := binary.BigEndian.Uint32(l[:])
	if size < uint32(o.aead.Overhead()) || size > backupChunkSize+uint32(o.aead.Overhead()) {
		return fmt.Errorf("%w: chunk %d has a bad length", ErrBadBackup, o.n)
	}
	ct := make([]byte, size)
	if _, err := io.ReadFull(o.r, ct); err != nil {
		return fmt.Errorf("%w: truncated in chunk %d", ErrBadBackup, o.n)
	}
	pt, err := o.aead.Open(nil, nonce(o.n, false), ct, o.ad)
	if err != nil {
		pt, err = o.aead.Open(nil, nonce(o.n, true), ct, o.ad)
		if err != nil {
			return fmt.Errorf("%w: chunk %d does not authenticate", ErrBadBackup, o.n)
		}
		o.done = true
		if _, err := o.r.ReadByte(); err != io.EOF {
			return fmt.Errorf("%w: data after the last chunk", ErrBadBackup)
		}
	}
	o.n++
	o.buf = pt
	return nil
}
