package listfile

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// readRecords reads every record of r, and the error that ended the file
// (nil at io.EOF).
func readRecords(r io.Reader, opt ReaderOptions) ([]Record, string, error) {
	lr, err := NewReader(r, opt)
	if err != nil {
		return nil, "", err
	}
	var recs []Record
	for {
		rec, err := lr.Next()
		if err == io.EOF {
			return recs, string(lr.Comma()), nil
		}
		if err != nil {
			return recs, string(lr.Comma()), err
		}
		rec.Value = strings.Clone(rec.Value)
		recs = append(recs, rec)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzReaderChunks checks that what the import reader reads does not depend
// on how its input arrives: the same bytes read whole and in reads of
// varying sizes (as from a socket or a pipe) give the same records, the same
// row errors and the same final error; keeping the raw rows changes no
// value; and a one-per-line file never gives a value with a line feed (a lone CR
// is no line break).
func FuzzReaderChunks(f *testing.F) {
	f.Add([]byte("5511987654321\n11987654321\r\n\n# comment\n5521988887777"), "", uint8(0))
	f.Add([]byte("nome;telefone\nAna;(11) 98765-4321\nBia;\"11 9\n8765\"\n"), "telefone", uint8(4))
	f.Add([]byte("id\tphone\n1\t5511987654321\n2\n"), "2", uint8(5))
	f.Add([]byte("\xef\xbb\xbf\"a\"b,\"c\n,,\n"), "", uint8(6))
	f.Add([]byte(gzipped("phone,x\n5511987654321,y\n")), "phone", uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, column string, flags uint8) {
		opt := fuzzOptions(column, flags)
		whole, comma, err := readRecords(bytes.NewReader(data), opt)
		chunked, comma2, err2 := readRecords(&chunkReader{data: data, n: int(flags)}, opt)
		if errText(err) != errText(err2) || comma != comma2 {
			t.Fatalf("whole: delimiter %q, error %v; in chunks: delimiter %q, error %v", comma, err, comma2, err2)
		}
		if len(whole) != len(chunked) {
			t.Fatalf("%d records whole, %d in chunks", len(whole), len(chunked))
		}
		for i := range whole {
			a, b := whole[i], chunked[i]
			if a.Line != b.Line || a.Value != b.Value || a.Raw != b.Raw || errText(a.Err) != errText(b.Err) {
				t.Fatalf("record %d: whole %+v, in chunks %+v", i, a, b)
			}
			if comma == "\x00" && strings.Contains(a.Value, "\n") {
				t.Fatalf("record %d of a one-per-line file: value %q has a line feed", i, a.Value)
			}
		}
		if !opt.Raw {
			return
		}
		opt.Raw = false
		plain, _, err3 := readRecords(bytes.NewReader(data), opt)
		if errText(err3) != errText(err) || len(plain) != len(whole) {
			t.Fatalf("without raw rows: %d records, error %v; with: %d, %v", len(plain), err3, len(whole), err)
		}
		for i := range plain {
			if plain[i].Value != whole[i].Value || plain[i].Line != whole[i].Line {
				t.Fatalf("record %d: %+v without raw rows, %+v with", i, plain[i], whole[i])
			}
			var fe *Error
			if plain[i].Err != nil && errors.As(plain[i].Err, &fe) && fe.File != "fuzz" {
				t.Fatalf("record %d: error %v names %q", i, plain[i].Err, fe.File)
			}
		}
	})
}
