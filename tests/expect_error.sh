#!/bin/sh
# expect_error.sh REGEX CMD ARGS...: passes when CMD exits with status 1 or 2
# (a handled error, not a signal/crash/sanitizer abort) and its stderr has a
# line matching the extended regex REGEX.
regex=$1
shift
err=$("$@" 2>&1 >/dev/null)
rc=$?
printf '%s\n' "$err"
if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
  echo "expect_error: exit status $rc (wanted 1 or 2)" >&2
  exit 1
fi
if ! printf '%s\n' "$err" | grep -Eq -- "$regex"; then
  echo "expect_error: no stderr line matches: $regex" >&2
  exit 1
fi
exit 0
