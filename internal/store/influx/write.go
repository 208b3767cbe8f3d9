package influx

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// Write validates every sample, then writes them in batches of BatchSize.
// An invalid sample rejects the whole call before anything is sent. A batch
// the server refuses (HTTP 4xx other than 429) gives a *store.RejectedError;
// when a call spans several batches, the batches before a failed one may have
// been stored (rewriting them is harmless: points overwrite).
func (s *Store) Write(ctx context.Context, batch []sample.Sample) error {
	if len(batch) == 0 {
		return nil
	}
	for i := range batch {
		err := batch[i].Validate()
		if err == nil {
			err = checkLine(&batch[i])
		}
		if err != nil {
			return &store.RejectedError{Err: fmt.Errorf("influxdb %s: write %d points: sample %d: %w", s.url, len(batch), i, err)}
		}
	}
	if err := s.writeSamples(ctx, batch); err != nil {
		return err
	}
	return s.markWrites(ctx, batch)
}

// writeSamples writes a valid batch in requests of BatchSize samples, two
// at a time.
func (s *Store) writeSamples(ctx context.Context, batch []sample.Sample) error {
	if len(batch) <= s.batchSize {
		return s.writeBatch(ctx, batch)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, writeConcurrency)
	)
	off := 0
	for ; off < len(batch); off += s.batchSize {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		chunk := batch[off:min(off+s.batchSize, len(batch))]
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := s.writeBatch(ctx, chunk); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && off < len(batch) {
		// The caller's context ended before all batches were started.
		firstErr = fmt.Errorf("influxdb %s: write %d points: %w", s.url, len(batch), context.Cause(ctx))
	}
	return firstErr
}

// gzipLevel: the fastest level. Line protocol is very repetitive, so it still
// shrinks about 8×, at a quarter of the CPU of the default level (measured
// with BenchmarkWrite; the client library's own gzip uses the default level).
var gzipLevel = gzip.BestSpeed

var (
	// bufPool holds line protocol buffers, sized for a batch after first use.
	bufPool = sync.Pool{New: func() any { return new([]byte) }}
	// gzipPool holds compressors (each has about 1 MB of state).
	gzipPool = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzipLevel)
		return w
	}}
)

// writeBatch encodes, compresses and sends one request.
func (s *Store) writeBatch(ctx context.Context, batch []sample.Sample) error {
	secs := true
	for i := range batch {
		if batch[i].Time.Nanosecond() != 0 {
			secs = false
			break
		}
	}
	bp := bufPool.Get().(*[]byte)
	lp := (*bp)[:0]
	for i := range batch {
		lp = appendLine(lp, &batch[i], secs)
	}
	err := s.send(ctx, lp, secs, fmt.Sprintf("write %d points", len(batch)))
	*bp = lp
	bufPool.Put(bp)
	return err
}

// send compresses line protocol and sends it in one request; what names
// the request in errors.
func (s *Store) send(ctx context.Context, lp []byte, secs bool, what string) error {
	// The transport may still read the body after the response has arrived,
	// so the compressed body is not pooled; the line buffer is.
	var body bytes.Buffer
	body.Grow(len(lp) / 6)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&body)
	_, err := zw.Write(lp)
	if err == nil {
		err = zw.Close()
	}
	gzipPool.Put(zw)
	if err != nil {
		return fmt.Errorf("influxdb %s: %s: gzip: %w", s.url, what, err)
	}

	u := s.writeNS
	if secs {
		u = s.writeS
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	herr := s.http.DoPostRequest(ctx, u, bytes.NewReader(body.Bytes()), func(req *http.Request) {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		req.Header.Set("Content-Encoding", "gzip")
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
	if herr != nil {
		return classify(fmt.Errorf("influxdb %s: %s: %w", s.url, what, httpError(herr)))
	}
	return nil
}
