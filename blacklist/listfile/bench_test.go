package listfile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// The benchmarks load millions of numbers into the Redis of scripts/bench.sh
// and report numbers per second and Redis memory per number. Run them one
// at a time, once each:
//
//	scripts/bench.sh ./blacklist/listfile/ -bench 'ImportPlain/10M' -benchtime 1x -timeout 1h
//
// Each deletes what it loaded and waits for Redis to free it.

// nationalAreaCodes are the Brazilian area codes in service.
var nationalAreaCodes = []int{
	11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69,
	71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
}

// perBlock is how many numbers of a national-like list share a block of
// 10,000 (a compact bucket): about 3%, as a do-not-call list of 14 million
// numbers spread over the 10,000-number blocks in service would.
const perBlock = 300

// nationalNumber returns the j-th (0 <= j < n) number of a national-like
// list: distinct mobile numbers, per to a block of 10,000 (at most 9,900),
// the blocks spread over every area code.
func nationalNumber(j, per uint64) uint64 {
	block, slot := j/per, j%per
	ddd := uint64(nationalAreaCodes[block%uint64(len(nationalAreaCodes))])
	prefix := block / uint64(len(nationalAreaCodes)) // the 4 digits after the 9
	spacing := 9900 / per
	jitter := (j * 0x9E3779B97F4A7C15) >> 32
	member := slot*spacing + jitter%spacing // below 9,900: distinct within the block
	return (5500+ddd)*1e9 + (90000+prefix)*1e4 + member
}

// scrambled returns the i-th index of a permutation of [0, n): the file is
// in no useful order, as a real export need not be.
func scrambled(i, n uint64) uint64 { return (i*999999937 + 12345) % n }

// listFile returns n national-like numbers, per to a block, one per line,
// scrambled.
func listFile(n int, per uint64) []byte {
	buf := make([]byte, 0, n*14)
	for i := range uint64(n) {
		buf = strconv.AppendUint(buf, nationalNumber(scrambled(i, uint64(n)), per), 10)
		buf = append(buf, '\n')
	}
	return buf
}

// respFile writes to path the SADD commands of redis-cli --pipe mass
// insertion of the numbers of data into key, 1,000 members per SADD.
func respFile(tb testing.TB, path, key string, data []byte) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for len(lines) > 0 {
		n := min(1000, len(lines))
		fmt.Fprintf(w, "*%d\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n", n+2, len(key), key)
		for _, l := range lines[:n] {
			fmt.Fprintf(w, "$%d\r\n%s\r\n", len(l), l)
		}
		lines = lines[n:]
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// usedMemory returns Redis's used_memory once lazy freeing is done.
func usedMemory(tb testing.TB, rdb *redis.Client) int64 {
	ctx := context.Background()
	for {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			tb.Fatal(err)
		}
		used, pending := infoField(info, "used_memory"), infoField(info, "lazyfree_pending_objects")
		if pending == 0 {
			return used
		}
		time.Sleep(50 * time.Millisecond) // a benchmark waiting for Redis's background thread
	}
}

func infoField(info, name string) int64 {
	return int64(infoFloat(info, name))
}

func infoFloat(info, name string) float64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// cpuClock reads the CPU seconds used so far by Redis and by this process.
func cpuClock(tb testing.TB, rdb *redis.Client) (redisCPU, ownCPU float64) {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	own := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return infoFloat(info, "used_cpu_user") + infoFloat(info, "used_cpu_sys"), own
}

// benchRedis returns the benchmark's Redis, configured for compact lists.
func benchRedis(b *testing.B) (*redis.Client, blacklist.Keys) {
	rdb := redistest.Client(b)
	ctx := context.Background()
	for _, kv := range [][2]string{{"set-max-intset-entries", "10000"}, {"lazyfree-lazy-user-del", "yes"}, {"lazyfree-lazy-server-del", "yes"}} {
		if err := rdb.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			b.Fatal(err)
		}
	}
	return rdb, blacklist.Keys{Prefix: redistest.Prefix(b, rdb)}
}

// dropList unlinks every key of the list.
func dropList(b *testing.B, rdb *redis.Client, key string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, globEscape(key)+"*", 10000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 10000 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
}

var benchSizes = []struct {
	name string
	n    int
	per  uint64 // numbers per block of 10,000
}{
	{"1M", 1_000_000, perBlock},
	{"10M", 10_000_000, perBlock},
	{"100M", 100_000_000, perBlock},
	{"10M-30-per-block", 10_000_000, 30},
}

func BenchmarkImportPlain(b *testing.B) {
	for _, size := range benchSizes[:2] {
		b.Run(size.name, func(b *testing.B) { benchImport(b, size.n, size.per, false) })
	}
}

func BenchmarkImportCompact(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) { benchImport(b, size.n, size.per, true) })
	}
}

func benchImport(b *testing.B, n int, per uint64, compact bool) {
	rdb, keys := benchRedis(b)
	ctx := context.Background()
	data := listFile(n, per)
	l := blacklist.SharedList(keys, "nmp")
	if compact {
		l.Layout = blacklist.LayoutCompact
	}
	runtime.GC()
	for b.Loop() {
		b.StopTimer()
		dropList(b, rdb, l.Key)
		before := usedMemory(b, rdb)
		redis0, own0 := cpuClock(b, rdb)
		b.StartTimer()
		start := time.Now()
		sum, err := Import(ctx, rdb, bytes.NewReader(data), ImportOptions{List: l, Keys: keys, Name: "bench"})
		elapsed := time.Since(start)
		b.StopTimer()
		redis1, own1 := cpuClock(b, rdb)
		b.ReportMetric(redis1-redis0, "redis-cpu-s")
		b.ReportMetric(own1-own0, "import-cpu-s")
		if err != nil {
			b.Fatal(err)
		}
		if sum.Added != int64(n) {
			b.Fatalf("added %d of %d", sum.Added, n)
		}
		after := usedMemory(b, rdb)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "numbers/s")
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(float64(after-before)/float64(n), "redis-bytes/number")
		dropList(b, rdb, l.Key)
		if !compact {
			// redis-cli --pipe mass insertion of the same numbers, 1,000
			// members per SADD, for comparison.
			path := filepath.Join(b.TempDir(), "sadd.resp")
			respFile(b, path, l.Key, data)
			usedMemory(b, rdb)
			opt := rdb.Options()
			host, port, _ := strings.Cut(opt.Addr, ":")
			cmd := exec.Command("redis-cli", "-h", host, "-p", port, "--pipe")
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			cmd.Stdin = f
			start := time.Now()
			out, err := cmd.CombinedOutput()
			pipe := time.Since(start)
			f.Close()
			if err != nil {
				b.Fatalf("redis-cli --pipe: %v: %s", err, out)
			}
			if got := rdb.SCard(ctx, l.Key).Val(); got != int64(n) {
				b.Fatalf("redis-cli --pipe loaded %d of %d", got, n)
			}
			b.ReportMetric(pipe.Seconds(), "redis-cli-pipe-s")
			dropList(b, rdb, l.Key)
		}
		b.StartTimer()
	}
}

// BenchmarkRead reads a list file of a million numbers and normalizes
// them, as an import does before Redis: the cost per row on the importer's
// side.
func BenchmarkRead(b *testing.B) {
	const n = 1_000_000
	lines := listFile(n, perBlock)
	var csvFile []byte
	for i, l := range bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n")) {
		csvFile = fmt.Appendf(csvFile, "%d;%s;Fulano de Tal\n", i, l)
	}
	for _, bc := range []struct {
		name string
		data []byte
		opt  ReaderOptions
	}{
		{"lines", lines, ReaderOptions{}},
		{"csv", csvFile, ReaderOptions{Column: "2"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				lr, err := NewReader(bytes.NewReader(bc.data), bc.opt)
				if err != nil {
					b.Fatal(err)
				}
				rows := 0
				for {
					rec, err := lr.Next()
					if err != nil {
						break
					}
					if _, err := (number.Rules{}).Normalize(rec.Value); err != nil {
						b.Fatal(err)
					}
					rows++
				}
				if rows != n {
					b.Fatalf("%d rows", rows)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
		})
	}
}

// leadFile returns a dialer's lead file of n rows (CSV: id;nome;telefone;
// cidade), one row in ten holding a number of the national-like list of
// size listSize, the others numbers of the same blocks that it does not
// hold.
func leadFile(n, listSize int) []byte {
	buf := []byte("id;nome;telefone;cidade\n")
	for i := range uint64(n) {
		var num uint64
		if i%10 == 0 {
			num = nationalNumber(scrambled(i*7, uint64(listSize)), perBlock)
		} else {
			num = nationalNumber(scrambled(i, uint64(listSize)), perBlock)/1e4*1e4 + 9900 + i%100 // above every member of the list
		}
		buf = fmt.Appendf(buf, "%d;Fulano %d;(%d) %d-%04d;São Paulo\n", i, i, num/1e9%100, num/1e4%1e5, num%1e4)
	}
	return buf
}

// BenchmarkScrub scrubs a lead file of a million rows against one list of
// ten million numbers.
func BenchmarkScrub(b *testing.B) {
	const rows, listSize = 1_000_000, 10_000_000
	for _, compact := range []bool{false, true} {
		name := map[bool]string{false: "plain-10M", true: "compact-10M"}[compact]
		b.Run(name, func(b *testing.B) {
			rdb, keys := benchRedis(b)
			ctx := context.Background()
			l := blacklist.SharedList(keys, "nmp")
			if compact {
				l.Layout = blacklist.LayoutCompact
			}
			if _, err := Import(ctx, rdb, bytes.NewReader(listFile(listSize, perBlock)), ImportOptions{List: l, Keys: keys}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { dropList(b, rdb, l.Key) })
			leads := leadFile(rows, listSize)
			checker := blacklist.NewChecker(rdb)
			runtime.GC()
			for b.Loop() {
				redis0, own0 := cpuClock(b, rdb)
				start := time.Now()
				sum, err := Scrub(ctx, checker, bytes.NewReader(leads), io.Discard, io.Discard, ScrubOptions{
					Lists: []blacklist.List{l}, Column: "telefone", Rules: number.DefaultRules(),
				})
				elapsed := time.Since(start)
				redis1, own1 := cpuClock(b, rdb)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Read != rows || sum.Removed != rows/10 || sum.Invalid != 0 {
					b.Fatalf("summary %+v", sum)
				}
				b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(elapsed.Seconds(), "s")
				b.ReportMetric(redis1-redis0, "redis-cpu-s")
				b.ReportMetric(own1-own0, "scrub-cpu-s")
			}
		})
	}
}
