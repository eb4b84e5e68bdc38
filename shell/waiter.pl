# shimctl waiter: the first program inside the agent's sandbox (shell/sandbox.bash).
#   perl -e WAITER -- [--bridge PORT SOCKET]... -- AGENT ARGS
# Listens on 127.0.0.1:PORT for each bridge and carries each connection to SOCKET (the
# egress proxy, a forwarded VM port), then runs the agent and writes how it ended to
# /tmp/.shimctl-status: bubblewrap reports a signal death as 128+N, and the launcher
# gives the agent's own death back to the caller.
# Every start pays for what is loaded here: no POSIX (5 ms), no warnings, no Socket (4 ms;
# its few constants are below).
use strict;

my $status_file = "/tmp/.shimctl-status";
$ENV{PATH} = delete $ENV{SHIMCTL_AGENT_PATH} if exists $ENV{SHIMCTL_AGENT_PATH};
delete $ENV{SHIMCTL_WAITER};
# What to say when the agent is not installed in the VM (the shim writes it).
my $missing = delete $ENV{SHIMCTL_MISSING};
# Ctrl-C and Ctrl-\ are the agent's: the waiter and the bridges ignore them.
$SIG{INT} = $SIG{QUIT} = "IGNORE";

sub fail { print STDERR "shimctl: sandbox: $_[0]\n"; exit 125 }

shift @ARGV if @ARGV && $ARGV[0] eq "--";
my (@bridges, $lifeline);
while (@ARGV && $ARGV[0] =~ /^--(bridge|lifeline)$/) {
  if (shift(@ARGV) eq "--lifeline") { $lifeline = shift @ARGV; next }
  my ($port, $path) = splice(@ARGV, 0, 2);
  push @bridges, [$port, $path];
}
# The launcher's lifeline: at its end of file the launcher is gone (killed in any way),
# and this waiter ends, which ends the sandbox's PID namespace and all in it.
if (defined $lifeline) {
  open(my $watch, "<&=", $lifeline) or fail("no lifeline: $!");
  my $waiter = $$;
  my $pid = fork() // fail("cannot fork: $!");
  if ($pid == 0) {
    sysread($watch, my $byte, 1);
    # bubblewrap's init (pid 1) outlives the waiter while anything else lives, so
    # everything goes: kill(-1) in this PID namespace reaches all but init and this
    # process. Only where the waiter is the namespace's first command (pid 2), never in
    # the VM's own namespace.
    kill("KILL", $waiter == 2 ? -1 : $waiter);
    exit 0;
  }
  close $watch;
}
shift @ARGV if @ARGV && $ARGV[0] eq "--";
fail("no command") unless @ARGV;

# Listening before the agent starts: it never finds the port closed.
# Linux's values, the same on every architecture Lima runs (asm-generic/socket.h,
# linux/socket.h): AF_UNIX 1, AF_INET 2, SOCK_STREAM 1, SOL_SOCKET 1, SO_REUSEADDR 2.
my ($AF_UNIX, $AF_INET, $SOCK_STREAM, $SOL_SOCKET, $SO_REUSEADDR) = (1, 2, 1, 1, 2);
# struct sockaddr_in (family, port in network order, address, zero padding) and
# struct sockaddr_un (family, path), as Socket's sockaddr_in and pack_sockaddr_un make them.
sub sockaddr_loopback { pack("S n C4 x8", $AF_INET, $_[0], 127, 0, 0, 1) }
sub sockaddr_unix { pack("S a*", $AF_UNIX, "$_[0]\0") }
for my $b (@bridges) {
  my ($port, $path) = @$b;
  socket(my $listen, $AF_INET, $SOCK_STREAM, 0) or fail("socket: $!");
  setsockopt($listen, $SOL_SOCKET, $SO_REUSEADDR, 1);
  bind($listen, sockaddr_loopback($port)) or fail("cannot listen on 127.0.0.1:$port: $!");
  listen($listen, 64) or fail("listen: $!");
  my $pid = fork() // fail("cannot fork: $!");
  if ($pid == 0) {
    $SIG{CHLD} = "IGNORE";
    while (1) {
      my $conn;
      accept($conn, $listen) or next;
      my $c = fork();
      if (defined $c && $c == 0) {
        close $listen;
        socket(my $up, $AF_UNIX, $SOCK_STREAM, 0) or exit 1;
        # The socket file appears at bind(), a moment before its socat listens: a first
        # connection can be refused, so it is tried again for a while.
        my $tries = 0;
        until (connect($up, sockaddr_unix($path))) {
          exit 1 unless ($!{ECONNREFUSED} || $!{ENOENT}) && ++$tries < 300;
          select(undef, undef, undef, 0.01);
        }
        shuttle($conn, $up);
        exit 0;
      }
      close $conn;
    }
  }
  close $listen;
}

# Copies both ways until both sides have closed their sending half.
sub shuttle {
  my ($a, $b) = @_;
  my %peer = (fileno($a) => [$a, $b], fileno($b) => [$b, $a]);
  my %open = map { $_ => 1 } keys %peer;
  while (%open) {
    my $rin = "";
    vec($rin, $_, 1) = 1 for keys %open;
    my $n = select(my $rout = $rin, undef, undef, undef);
    next if $n < 0 && $!{EINTR};
    last if $n < 0;
    for my $fd (keys %open) {
      next unless vec($rout, $fd, 1);
      my ($from, $to) = @{ $peer{$fd} };
      my $got = sysread($from, my $buf, 65536);
      if (!$got) {
        shutdown($to, 1);
        delete $open{$fd};
        next;
      }
      my $off = 0;
      while ($off < $got) {
        my $w = syswrite($to, $buf, $got - $off, $off);
        return unless defined $w;
        $off += $w;
      }
    }
  }
}

my $pid = fork() // fail("cannot fork: $!");
if ($pid == 0) {
  $SIG{INT} = $SIG{QUIT} = "DEFAULT";
  { exec { $ARGV[0] } @ARGV; }
  my $code = $!{ENOENT} ? 127 : 126;
  if ($code == 127 && $missing) { print STDERR "$missing\n" }
  else { print STDERR "$ARGV[0]: ", ($code == 127 ? "command not found" : "$!"), "\n" }
  exit $code;
}
$SIG{TERM} = $SIG{HUP} = sub { kill $_[0], $pid };
my $w;
do { $w = waitpid($pid, 0) } while ($w == -1 && $!{EINTR});
my $st = $?;
my $report = ($st & 127) ? "signal " . ($st & 127) : "exit " . ($st >> 8);
if (open(my $fh, ">", $status_file)) { print $fh "$report\n"; close $fh; }
exit(($st & 127) ? 128 + ($st & 127) : $st >> 8);
