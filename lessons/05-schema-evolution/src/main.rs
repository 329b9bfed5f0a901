//! TODO(lesson 05): write the demo of the README's last step here. One link written by v1 and by
//! v2, read back by both; then the same v1 bytes read by the two broken schemas.

fn main() {
    // TODO(lesson 05): replace this with the demo (README, step 4).
    todo!("the demo of lesson 05: see the README's last step")
}
