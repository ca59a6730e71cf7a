# Sourced by the scripts that start servers on this machine: TCP ports on 127.0.0.1.

# Whether something accepts TCP connections on 127.0.0.1:$1.
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on now (a random one, tried up to 100 times), below the range the
# kernel hands out ephemeral ports from (to listeners on port 0 and outgoing connections): a
# port kept across a restart (a database cluster's) is then not taken meanwhile by another
# test's listener or connection.
free_port() {
  local port low=32768 span
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  span=$((low - 10000))
  [ "$span" -ge 1000 ] || span=1000
  for _ in $(seq 1 100); do
    port=$((10000 + RANDOM % span))
    if ! taken "$port"; then
      echo "$port"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}
