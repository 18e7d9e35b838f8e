//! Opening a long result's encrypted values on two threads. Opening dominates the decoding of a
//! row with encrypted columns, so for a long result a second thread decodes the later half of
//! the rows once, keeping only the plaintexts it opened; the calling thread decodes the earlier
//! half meanwhile, then the later half again, taking each value's plaintext from what the second
//! thread opened instead of opening it. The rows are decoded into their type on the calling
//! thread only: a row type need not be `Send`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{with_keys, CryptoError, Keys};

/// The fewest rows opened on two threads: below, a thread costs more than it saves.
pub(crate) const PARALLEL_ROWS: usize = 1024;

/// Where a stored value lies (its address and length, inside a row the caller holds throughout)
/// and its column: what a plaintext opened ahead is found by.
type Place = (usize, usize, usize);

/// What this thread does with the values it opens.
enum Ahead {
    /// Keeps each plaintext it opens (the second thread).
    Keep(HashMap<Place, Zeroizing<Vec<u8>>>),
    /// Takes the plaintexts the second thread kept instead of opening them again.
    Take(HashMap<Place, Zeroizing<Vec<u8>>>),
}

thread_local! {
    static AHEAD: RefCell<Option<Ahead>> = const { RefCell::new(None) };
}

/// Decodes every row with `decode` and `keys` as [`with_keys`] would, in order; a result of
/// [`PARALLEL_ROWS`] rows or more opens its later half's values on a second thread first.
/// `decode` decodes the later half twice (once on each thread), so it must not have other
/// effects than its result.
pub(crate) fn decode_all<R: Sync, T>(
    keys: Option<&Arc<Keys>>,
    rows: &[R],
    decode: impl Fn(&R) -> T + Sync,
) -> Vec<T> {
    if keys.is_none() || rows.len() < PARALLEL_ROWS {
        return with_keys(keys, || rows.iter().map(&decode).collect());
    }
    let (earlier, later) = rows.split_at(rows.len() / 2);
    std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            with_keys(keys, || {
                within(Ahead::Keep(HashMap::new()), || {
                    later.iter().for_each(|row| drop(decode(row)))
                })
            })
        });
        let mut decoded: Vec<T> = with_keys(keys, || earlier.iter().map(&decode).collect());
        let opened = match second.join() {
            Ok(Ahead::Keep(opened)) => opened,
            // Whatever the second thread did not open is opened here.
            Ok(Ahead::Take(_)) | Err(_) => HashMap::new(),
        };
        with_keys(keys, || {
            within(Ahead::Take(opened), || {
                decoded.extend(later.iter().map(&decode))
            })
        });
        decoded
    })
}

/// Runs `work` with `ahead` as this thread's mode, and returns the mode as `work` left it.
fn within(ahead: Ahead, work: impl FnOnce()) -> Ahead {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            AHEAD.with(|cell| cell.borrow_mut().take());
        }
    }
    AHEAD.with(|cell| *cell.borrow_mut() = Some(ahead));
    let restore = Restore;
    work();
    let ahead = AHEAD.with(|cell| cell.borrow_mut().take());
    drop(restore);
    ahead.unwrap_or(Ahead::Take(HashMap::new()))
}

/// Gives `use_plain` the plaintext of the value `stored` of column `column`: the one opened
/// ahead for it if there is one, else what `open` opens (kept for the calling thread when this
/// is the second thread).
pub(super) fn open_with<F>(
    column: usize,
    stored: &[u8],
    open: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, CryptoError>,
    use_plain: impl FnOnce(&[u8]) -> Result<F, CryptoError>,
) -> Result<F, CryptoError> {
    let place = (stored.as_ptr() as usize, stored.len(), column);
    let taken = AHEAD.with(|cell| match &mut *cell.borrow_mut() {
        Some(Ahead::Take(opened)) => opened.remove(&place),
        _ => None,
    });
    let plain = match taken {
        Some(plain) => plain,
        None => open()?,
    };
    let decoded = use_plain(&plain);
    AHEAD.with(|cell| {
        if let Some(Ahead::Keep(kept)) = &mut *cell.borrow_mut() {
            kept.insert(place, plain);
        }
    });
    decoded
}
