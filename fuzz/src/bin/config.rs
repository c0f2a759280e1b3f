//! afl.rs target: `berthing::fuzz::config`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        berthing::fuzz::config(data);
    });
}
