//! The capacity kept by a list that is emptied and filled again every tick (the process
//! table's slots, the dump ring's record prints): room
//! for what it held and a little growth, not the next power of two a push doubles to — on
//! 11,700 processes that slack is a third of each list — and given back only when the count
//! fell by more than an eighth, so a host whose count moves by a few processes a tick does not
//! reallocate every tick.

/// The capacity for `len` items: `len` and 1/32 more.
pub fn room_for(len: usize) -> usize {
    len + len / 32 + 16
}

/// Gives `list` capacity for `len` items ([`room_for`]), shrinking it only when it holds more
/// than an eighth beyond that.
pub fn keep_room<T>(list: &mut Vec<T>, len: usize) {
    let room = room_for(len);
    if list.capacity() > room + room / 8 {
        list.shrink_to(room);
    }
    list.reserve_exact(room.saturating_sub(list.len()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_the_count_and_a_little_growth_given_back_past_an_eighth() {
        let mut list: Vec<u32> = (0..4_000).collect();
        keep_room(&mut list, 4_000);
        assert_eq!(list.capacity(), room_for(4_000));
        list.clear();
        keep_room(&mut list, 3_990);
        assert_eq!(list.capacity(), room_for(4_000), "a few fewer: kept");
        keep_room(&mut list, 1_000);
        assert_eq!(list.capacity(), room_for(1_000), "far fewer: given back");
        list.extend(0..1_000);
        keep_room(&mut list, 2_000);
        assert_eq!(list.capacity(), room_for(2_000), "more: exactly the room");
        assert_eq!(list.len(), 1_000);
    }
}
