//! afl.rs target: `berthing::fuzz::compose`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        berthing::fuzz::compose(data);
    });
}
