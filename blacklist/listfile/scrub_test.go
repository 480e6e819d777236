package listfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/number"
)

func TestScrub(t *testing.T) {
	f := newFixture(t)
	own := blacklist.CampaignList(f.keys, "promo")
	optOut := blacklist.SharedList(f.keys, "opt-out")
	nmp := blacklist.SharedListLayout(f.keys, "nmp", blacklist.LayoutCompact)
	lists := []blacklist.List{own, optOut, nmp}

	f.rdb.SAdd(f.ctx, own.Key, "5511987654321", "55900*", "5521900000001")
	f.rdb.HSet(f.ctx, blacklist.MetaKey(own.Key), "5511987654321", blacklist.MarshalMeta(blacklist.Meta{Reason: "opt-out"}))
	// Expired: it blocks no more.
	f.rdb.ZAdd(f.ctx, blacklist.ExpiryKey(own.Key), redis.Z{Score: float64(time.Now().Add(-time.Hour).Unix()), Member: "5521900000001"})
	f.rdb.SAdd(f.ctx, optOut.Key, "5511987654321", "5531977776666")
	if _, err := f.importInto(t, "5541999990000\n5511987654321\n", ImportOptions{List: nmp}, false); err != nil {
		t.Fatal(err)
	}

	in := "id;nome;telefone;obs\r\n" +
		"1;Ana;(11) 98765-4321;\"na lista da campanha\"\r\n" +
		"2;Bia;21 90000-0001;expirada: fica\r\n" +
		"3;Caio;(31) 97777-6666;\"opt-out; compartilhada\"\r\n" +
		"\r\n" +
		"4;Duda;+55 41 99999-0000;\"duas\r\nlinhas\"\r\n" +
		"5;Edu;0900 123 4567;prefixo 55900*\r\n" +
		"6;Fabi;abc;inválido\r\n" +
		"7;Gil\r\n" +
		"8;Hugo;(11) 91234-5678;fica\r\n" +
		"9;Iris;11 91234-5679;fica, sem fim de linha"
	var clean, removed bytes.Buffer
	var progress []Progress
	sum, err := Scrub(f.ctx, blacklist.NewChecker(f.rdb), strings.NewReader(in), &clean, &removed, ScrubOptions{
		Lists: lists, Rules: number.DefaultRules(), Column: "telefone", Name: "leads.csv",
		Progress: func(p Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	wantClean := "id;nome;telefone;obs\r\n" +
		"2;Bia;21 90000-0001;expirada: fica\r\n" +
		"8;Hugo;(11) 91234-5678;fica\r\n" +
		"9;Iris;11 91234-5679;fica, sem fim de linha\r\n"
	if clean.String() != wantClean {
		t.Errorf("clean file:\n%q\nwant:\n%q", clean.String(), wantClean)
	}
	wantRemoved := "line,number,normalized,list,entry,reason\n" +
		"2,(11) 98765-4321,5511987654321,promo,5511987654321,opt-out\n" +
		"4,(31) 97777-6666,5531977776666,opt-out,5531977776666,\n" +
		"6,+55 41 99999-0000,5541999990000,nmp,5541999990000,\n" +
		"8,0900 123 4567,559001234567,promo,55900*,\n" +
		"9,abc,,,,invalid number: 'a' is not a dialable character\n" +
		"10,,,,,no such column: column 3 (the row has 2)\n"
	if removed.String() != wantRemoved {
		t.Errorf("report:\n%s\nwant:\n%s", removed.String(), wantRemoved)
	}
	want := ScrubSummary{Read: 9, Kept: 3, Removed: 6, Invalid: 2, ByList: map[string]int64{"promo": 2, "opt-out": 1, "nmp": 1}}
	if fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if len(progress) == 0 || progress[len(progress)-1].Rows != 9 {
		t.Errorf("progress %+v", progress)
	}
}

// TestScrubOrder checks that many small batches, checked concurrently,
// come out in the file's order.
func TestScrubOrder(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	var in, wantClean, wantRemoved strings.Builder
	wantRemoved.WriteString(strings.Join(ScrubReportHeader, ",") + "\n")
	for i := range 20000 {
		n := mobile(i)
		fmt.Fprintln(&in, n)
		if i%7 == 3 {
			f.rdb.SAdd(f.ctx, l.Key, n)
			fmt.Fprintf(&wantRemoved, "%d,%s,%s,spam,%s,\n", i+1, n, n, n)
		} else {
			fmt.Fprintln(&wantClean, n)
		}
	}
	var clean, removed bytes.Buffer
	sum, err := Scrub(f.ctx, blacklist.NewChecker(f.rdb), strings.NewReader(in.String()), &clean, &removed,
		ScrubOptions{Lists: []blacklist.List{l}, BatchSize: 97, Concurrency: 5})
	if err != nil {
		t.Fatal(err)
	}
	if clean.String() != wantClean.String() {
		t.Errorf("the clean file differs (%d bytes, want %d)", clean.Len(), wantClean.Len())
	}
	if removed.String() != wantRemoved.String() {
		t.Errorf("the report differs (%d bytes, want %d)", removed.Len(), wantRemoved.Len())
	}
	if sum.Read != 20000 || sum.Removed != 2857 || sum.Kept != 17143 {
		t.Errorf("summary %+v", sum)
	}
}

func TestScrubEmpty(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	for _, in := range []string{"", "nome,telefone\n"} {
		var clean, removed bytes.Buffer
		sum, err := Scrub(f.ctx, blacklist.NewChecker(f.rdb), strings.NewReader(in), &clean, &removed, ScrubOptions{Lists: []blacklist.List{l}, Column: "2"})
		if err != nil || sum.Read != 0 {
			t.Errorf("%q: %+v, %v", in, sum, err)
		}
		if clean.String() != in || removed.String() != strings.Join(ScrubReportHeader, ",")+"\n" {
			t.Errorf("%q: clean %q, report %q", in, clean.String(), removed.String())
		}
	}
}

func TestScrubErrors(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	var in strings.Builder
	for i := range 5000 {
		fmt.Fprintln(&in, mobile(i))
	}
	checker := blacklist.NewChecker(f.rdb)

	// A list that is not a set.
	f.rdb.Set(f.ctx, l.Key, "x", 0)
	var clean, removed bytes.Buffer
	_, err := Scrub(f.ctx, checker, strings.NewReader(in.String()), &clean, &removed, ScrubOptions{Lists: []blacklist.List{l}})
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("error %v, want WRONGTYPE", err)
	}
	f.rdb.Del(f.ctx, l.Key)

	// A clean file that cannot be written.
	boom := errors.New("disk full")
	_, err = Scrub(f.ctx, checker, strings.NewReader(in.String()), failingWriter{boom}, &removed, ScrubOptions{Lists: []blacklist.List{l}})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the write error", err)
	}

	// A file that ends badly.
	z := gz(t, in.String())
	_, err = Scrub(f.ctx, checker, strings.NewReader(z[:len(z)/2]), &clean, &removed, ScrubOptions{Lists: []blacklist.List{l}, Name: "leads.csv.gz"})
	var fe *Error
	if !errors.As(err, &fe) || fe.File != "leads.csv.gz" {
		t.Errorf("error %v, want an *Error naming the file", err)
	}

	// A bad layout.
	_, err = Scrub(f.ctx, checker, strings.NewReader(in.String()), &clean, &removed,
		ScrubOptions{Lists: []blacklist.List{blacklist.SharedListLayout(f.keys, "x", "round")}})
	if !errors.Is(err, blacklist.ErrInvalidLayout) {
		t.Errorf("error %v, want ErrInvalidLayout", err)
	}
}
