//! End-to-end tests: the real shimctl binary, its shims as real symlinks, and the Lima
//! stand-in (tests/lima-standin/limactl) with a simulated guest. One test binary; each
//! module is a user-visible area, each test a behaviour.

mod guest;
#[path = "../support/terminal.rs"]
mod terminal;
mod world;

mod bypass;
mod door;
mod egress;
mod everyday;
mod explain;
mod hardening;
mod install;
mod install_sh;
mod lima;
mod readme;
mod real_agents;
mod routes;
mod sandbox;
mod shell;
mod shim;
mod ssh_guest;
mod tasks;
mod vm;
