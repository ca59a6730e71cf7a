# Sourced by the scripts that start servers on this machine: TCP ports on 127.0.0.1.

# Whether something accepts TCP connections on 127.0.0.1:$1.
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on now (a random one, tried up to 100 times).
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! taken "$port"; then
      echo "$port"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}
