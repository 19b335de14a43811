#!/bin/sh
# check_forecast.sh AVIARY OUTDIR: end-to-end checks of `aviary forecast`
# (run from tests/): output CSV rows and time index, agreement of the CLI's
# forecast with the reference forecast_raw_tail of the weather fixture, the
# PNG plot, horizons longer than pred_len, and --stream.
set -eu
AV=$1
OUT=$2
mkdir -p "$OUT"
FX=fixtures/ts-rwkv-weather-trained
fail() { echo "check_forecast: $*" >&2; exit 1; }

# 1. the demo forecast: CSV rows, header, first/last time stamps, PNG
rm -f "$OUT/weather.csv" "$OUT/weather.png"
"$AV" forecast -c ts/weather.json $FX/seattle_hourly_normals.csv --out "$OUT/weather.csv" --plot "$OUT/weather.png" >"$OUT/weather.txt"
[ "$(wc -l <"$OUT/weather.csv")" -eq 97 ] || fail "weather.csv: expected 97 lines"
[ "$(head -1 "$OUT/weather.csv")" = "date,pressure,temperature,wind" ] || fail "weather.csv: bad header"
sed -n 2p "$OUT/weather.csv" | grep -q '^2011-01-01 00:00:00,' || fail "weather.csv: first stamp is not 2011-01-01 00:00:00"
tail -1 "$OUT/weather.csv" | grep -q '^2011-01-04 23:00:00,' || fail "weather.csv: last stamp is not 2011-01-04 23:00:00"
[ "$(od -A n -t x1 -N 8 "$OUT/weather.png" | tr -d ' ')" = "89504e470d0a1a0a" ] || fail "weather.png: not a PNG"
grep -q '^2011-01-01 00:00:00 ' "$OUT/weather.txt" || fail "the forecast was not printed"

# 2. the CLI's numbers equal the reference forecast_raw_tail (fixture.json: atol 1e-4, rtol 1e-4)
hl=$(od -A n -t u8 -N 8 $FX/expected.safetensors | tr -d ' ')
off=$(dd if=$FX/expected.safetensors bs=1 skip=8 count="$hl" 2>/dev/null |
      grep -o '"forecast_raw_tail":{[^}]*}' | sed 's/.*"data_offsets":\[\([0-9]*\),.*/\1/')
[ -n "$off" ] || fail "expected.safetensors: forecast_raw_tail not found"
od -A n -v -t f4 -j $((8 + hl + off)) -N 1152 $FX/expected.safetensors | tr -s ' ' '\n' | sed '/^$/d' >"$OUT/ref.txt"
tail -n +2 "$OUT/weather.csv" | cut -d, -f2- | tr ',' '\n' >"$OUT/got.txt"
paste "$OUT/got.txt" "$OUT/ref.txt" | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; r = $2 < 0 ? -$2 : $2; if (d > 1e-4 + 1e-4 * r) { bad++; if (!first) first = n } }
  END { if (n != 288 || bad) { printf "forecast vs reference: %d values, %d outside tolerance (first %d)\n", n, bad, first; exit 1 }
        printf "forecast vs reference forecast_raw_tail: %d values within atol 1e-4 + rtol 1e-4\n", n }'

# 3. a daily CSV: the time index continues by days; horizon longer than pred_len
rm -f "$OUT/daily.csv"
"$AV" forecast -c ts/weather.json ts/daily.csv --horizon 200 --out "$OUT/daily.csv" >/dev/null
[ "$(wc -l <"$OUT/daily.csv")" -eq 201 ] || fail "daily.csv: expected 201 lines"
[ "$(head -1 "$OUT/daily.csv")" = "date,load,temp" ] || fail "daily.csv: bad header"
sed -n 2p "$OUT/daily.csv" | grep -q '^2021-02-04,' || fail "daily.csv: first date is not 2021-02-04"
tail -1 "$OUT/daily.csv" | grep -q '^2021-08-22,' || fail "daily.csv: last date is not 2021-08-22"

# 4. --stream: one forecast line per row read from stdin
printf '2011-01-01 00:00:00,1017.0,4.1,3.9\n\n2011-01-01 01:00:00,1016.9,4.0,3.8\n' |
  "$AV" forecast -c ts/weather.json $FX/seattle_hourly_normals.csv --stream --horizon 24 >"$OUT/stream.txt"
[ "$(grep -c '^row ' "$OUT/stream.txt")" -eq 2 ] || fail "stream: expected 2 forecast lines"
grep -q '^row 2011-01-01 01:00:00 -> next 2011-01-01 02:00:00: pressure=' "$OUT/stream.txt" || fail "stream: bad line"
grep -q '+24 2011-01-02 01:00:00' "$OUT/stream.txt" || fail "stream: horizon stamp wrong"
# 5. --stream with a bad row: one clear line naming the stdin line, exit 1
set +e
printf '2011-01-01 00:00:00,1017.0,4.1,3.9\n2011-01-01 01:00:00,1016.9,windy,3.8\n' |
  "$AV" forecast -c ts/weather.json $FX/seattle_hourly_normals.csv --stream >/dev/null 2>"$OUT/stream_err.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "stream with a bad row: exit status $rc, wanted 1"
grep -q "stdin line 2: column 'temperature': 'windy' is not a number" "$OUT/stream_err.txt" || fail "stream: bad error message"
echo "check_forecast: all passed"
