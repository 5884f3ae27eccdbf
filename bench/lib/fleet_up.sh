# Sourced by bench/fleet.sh and bench/release.sh: with the host key, user key and sshd_config
# already in $T, writes known_hosts, the inventory ($T/inventory.ini, group `fleet`) and a
# private HOME whose ~/.ssh/config names our known_hosts (yiqiu-play reads it there, as ssh
# does), then starts N sshd on 127.0.x.y:$PORT and proves one login.
# Uses the caller's T, N, PORT, LOGIN, say, die; sets FLEET_ADDRS and appends to SSHD_PIDS.

fleet_addr() { local i=$(( $1 - 1 )); echo "127.0.$(( 1 + i / 250 )).$(( 1 + i % 250 ))"; }

fleet_up() {
    local i a hostkey
    FLEET_ADDRS=()
    : >"$T/known_hosts"
    hostkey=$(cut -d' ' -f1,2 "$T/host_ed25519.pub")
    {
        say "[fleet]"
        for i in $(seq 1 "$N"); do
            a=$(fleet_addr "$i")
            FLEET_ADDRS+=("$a")
            printf 'h%04d ansible_host=%s\n' "$i" "$a"
            printf '[%s]:%s %s\n' "$a" "$PORT" "$hostkey" >>"$T/known_hosts"
        done
        say ""
        say "[fleet:vars]"
        say "ansible_port=$PORT"
        say "ansible_user=$LOGIN"
        say "ansible_ssh_private_key_file=$T/id_ed25519"
        say "ansible_python_interpreter=/usr/bin/python3"
        say "ansible_ssh_common_args='-o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=yes'"
    } >"$T/inventory.ini"

    mkdir -p "$T/home/.ssh" && chmod 0700 "$T/home/.ssh"
    printf 'Host *\n    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n' "$T/known_hosts" \
        >"$T/home/.ssh/config"

    say "starting $N sshd on $(fleet_addr 1)..$(fleet_addr "$N"):$PORT as user $LOGIN ..."
    for i in $(seq 1 "$N"); do
        a=$(fleet_addr "$i")
        /usr/sbin/sshd -f "$T/sshd_config" -o "ListenAddress=$a:$PORT" -o "PidFile=$T/sshd.$i.pid" \
            -E "$T/sshd.$i.log" || die "sshd on $a:$PORT did not start (see $T/sshd.$i.log)"
    done
    for i in $(seq 1 "$N"); do
        for _ in $(seq 1 50); do [[ -s $T/sshd.$i.pid ]] && break; sleep 0.1; done
        [[ -s $T/sshd.$i.pid ]] || die "sshd $i wrote no pid file"
        SSHD_PIDS+=("$(cat "$T/sshd.$i.pid")")
    done
    # One real login proves keys, user and known_hosts before anything is timed.
    ssh -q -o BatchMode=yes -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes \
        -i "$T/id_ed25519" -p "$PORT" "$LOGIN@$(fleet_addr 1)" true \
        || die "ssh $LOGIN@$(fleet_addr 1):$PORT failed (see $T/sshd.1.log)"
}
