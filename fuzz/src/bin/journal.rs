//! afl.rs target: `berthing::fuzz::journal`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        berthing::fuzz::journal(data);
    });
}
