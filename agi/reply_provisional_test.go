package agi

import (
	"strings"
	"testing"
)

// TestReadReplySkipsProvisionalBlocks checks that a provisional 100 reply is
// skipped in whatever shape it comes, so that the session stays in step:
// the reply returned is the final one (found by the fuzzer: a multi-line
// "100-" block was returned as the reply).
func TestReadReplySkipsProvisionalBlocks(t *testing.T) {
	for _, in := range []string{
		"100 result=0 Trying...\n200 result=7 (next)\n",
		"100-\n100 \n200 result=7 (next)\n",
		"100-Trying\nmore\n100 End of proper usage.\nHANGUP\n200 result=7 (next)\n",
		"100-a\n100 b\n100 result=0 Trying...\n200 result=7 (next)\n",
	} {
		r, err := newTestSession(strings.NewReader(in), 256).readReply()
		if err != nil || r.Code != 200 || r.Result != "7" || r.Data != "next" {
			t.Errorf("readReply(%q) = %+v, %v; want the final 200 result=7 (next)", in, r, err)
		}
	}
}
