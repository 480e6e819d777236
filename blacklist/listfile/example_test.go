package listfile_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/blacklist-agi/blacklist-agi/blacklist/listfile"
)

// A dialer's lead file: the delimiter is detected, the column is chosen by
// its header name, and a row without it is an error of its own.
func ExampleNewReader() {
	leads := "id;nome;telefone\r\n1;Ana;(11) 98765-4321\r\n2;Bia\r\n3;Caio;21 98888-7777\r\n"
	r, err := listfile.NewReader(strings.NewReader(leads), listfile.ReaderOptions{Name: "leads.csv", Column: "Telefone"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("delimiter %q, header %q\n", r.Comma(), r.Header())
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if rec.Err != nil {
			fmt.Printf("line %d: %v\n", rec.Line, rec.Err)
			continue
		}
		fmt.Printf("line %d: %s\n", rec.Line, rec.Value)
	}
	// Output:
	// delimiter ';', header ["id" "nome" "telefone"]
	// line 2: (11) 98765-4321
	// line 3: no such column: column 3 (the row has 2)
	// line 4: 21 98888-7777
}
