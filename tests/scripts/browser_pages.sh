#!/usr/bin/env bash
# The web pages as a browser renders them: headless Chromium loads the landing page and a topic's
# drill-down from a running sidecar, and the rendered DOM is checked: the topic rows, overdue
# topics first, a hostile-looking but valid name (a%b|c) shown as text and its link leading to its
# own drill-down, and a message id with markup in it shown as text, not as elements.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium is not installed (scripts/setup.sh installs it)"; exit 77; }
dump_dom() {
  # --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$TMP/chromium" --dump-dom "$1" 2>>"$TMP/chromium.log"
}
if ! dump_dom 'data:text/html,<p id="probe">ok</p>' | grep -q 'id="probe"'; then
  echo "SKIP: chromium cannot run here: $(tail -3 "$TMP/chromium.log")"
  exit 77
fi

start_sidecar s --overdue.grace 1s
now_ms=$(date +%s%3N)
events=$(python3 - "$now_ms" <<'PY'
import json, sys
now = int(sys.argv[1])
events = []
for i in range(5):
    events.append({"type": "timer.enqueued", "topic": f"calm-{i}", "id": f"c{i}", "deliverAtMs": now + 600000})
# a%b|c: two overdue messages, enqueued newest first, and one to come, with markup in its id.
events.append({"type": "timer.enqueued", "topic": "a%b|c", "id": "newer", "deliverAtMs": now - 3000})
events.append({"type": "timer.enqueued", "topic": "a%b|c", "id": "older", "deliverAtMs": now - 9000})
events.append({"type": "timer.enqueued", "topic": "a%b|c", "id": "<b>bold</b>", "deliverAtMs": now + 60000})
events.append({"type": "timer.enqueued", "topic": "z-worst", "id": "w1", "deliverAtMs": now - 5000})
events.append({"type": "timer.enqueued", "topic": "z-worst", "id": "w2", "deliverAtMs": now - 6000})
events.append({"type": "timer.enqueued", "topic": "z-worst", "id": "w3", "deliverAtMs": now - 7000})
print(json.dumps(events))
PY
)
[ "$(curl -sS -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "$events" "$s_WEBHOOK/v1/events")" = 200 ] || fail "POST: $(cat "$TMP/body")"

dump_dom "$s_WEB/" >"$TMP/landing.html"
# Reads the DOM Chromium serialised: the rows of a table, as cell texts and the first link.
cat >"$TMP/rows.py" <<'PY'
import html.parser, json, sys

class Rows(html.parser.HTMLParser):
    def __init__(self, table):
        super().__init__()
        self.table, self.inside, self.rows, self.cell, self.tags = table, False, [], None, []
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.inside = attrs.get("id") == self.table
        elif self.inside and tag == "tr":
            self.rows.append({"cells": [], "href": None})
        elif self.inside and tag == "td":
            self.cell = ""
        elif self.inside and self.cell is not None:
            self.tags.append(tag)
            if tag == "a" and self.rows[-1]["href"] is None:
                self.rows[-1]["href"] = attrs.get("href")
    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td":
            self.rows[-1]["cells"].append(self.cell)
            self.cell = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

parser = Rows(sys.argv[2])
parser.feed(open(sys.argv[1]).read())
rows = [row for row in parser.rows if row["cells"]]  # the header row has <th> only
print(json.dumps({"rows": rows, "tags": parser.tags}))
PY
rows() { python3 "$TMP/rows.py" "$1" "$2"; }
rows "$TMP/landing.html" topics >"$TMP/topics.json"
jq -e '.rows | length == 7' "$TMP/topics.json" >/dev/null || fail "topic rows: $(cat "$TMP/topics.json")"
order=$(jq -r '[.rows[].cells[0]] | join(" ")' "$TMP/topics.json")
[ "$order" = "z-worst a%b|c calm-0 calm-1 calm-2 calm-3 calm-4" ] ||
  fail "landing page order (overdue first): $order"
jq -e '.rows[0].cells == ["z-worst","3","0","3","3","0"]' "$TMP/topics.json" >/dev/null ||
  fail "z-worst's row: $(jq -c '.rows[0]' "$TMP/topics.json")"
href=$(jq -r '.rows[1].href' "$TMP/topics.json")
[ "$href" = "/topics/a%25b%7Cc" ] || fail "a%b|c links to $href"
grep -q 'href="/metrics"' "$TMP/landing.html" || fail "no link to /metrics"

# The drill-down, reached through the link the browser read from the landing page.
dump_dom "$s_WEB$href" >"$TMP/topic.html"
grep -q '<h1 id="topic">a%b|c</h1>' "$TMP/topic.html" || fail "drill-down heading: $(grep -o '<h1.*</h1>' "$TMP/topic.html")"
rows "$TMP/topic.html" overdue >"$TMP/overdue.json"
[ "$(jq -r '[.rows[].cells[0]] | join(" ")' "$TMP/overdue.json")" = "older newer" ] ||
  fail "overdue messages, oldest first: $(cat "$TMP/overdue.json")"
jq -e '(.rows[0].cells[2] | tonumber) >= 8000' "$TMP/overdue.json" >/dev/null ||
  fail "older's overdue time: $(cat "$TMP/overdue.json")"
rows "$TMP/topic.html" next >"$TMP/next.json"
jq -e '.rows[0].cells[0] == "<b>bold</b>" and (.tags | length == 0)' "$TMP/next.json" >/dev/null ||
  fail "the id with markup was not shown as text: $(cat "$TMP/next.json")"
echo "browser pages: ok"
