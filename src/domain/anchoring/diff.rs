//! The character diff of two versions, bounded by a budget of work rather than by a clock.
//!
//! Myers' algorithm finds a shortest edit script by searching from both ends for a point in the
//! middle of it, then diffing each half the same way. Its cost grows with the length of the
//! texts times the number of edits, so a thorough rewrite of a long article could take a
//! long time. Each diagonal step and each matched character spends one unit of a
//! [`DiffBudget`]; once it is spent, what is left to compare is reported as replaced as a whole
//! (after trimming its common start and end, which costs nothing). A diff is then a function of
//! its two texts and its budget only: the same versions give the same verdicts on any machine,
//! however busy, which a deadline on the clock could not promise.

use std::ops::Range;

use similar::algorithms::{Capture, Compact, DiffHook, Replace};
use similar::DiffOp;

/// How much work one diff of two versions may do, in units of one diagonal step or one
/// matched character of the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffBudget {
    units: u64,
}

impl DiffBudget {
    /// Enough for any editing of an article short of rewriting it (a correction every hundred
    /// characters of a 4,000-character article takes about 30,000 units), and enough to diff
    /// even a complete rewrite of two 5,000-character articles (about 17 million units, a
    /// tenth of a second on a laptop); longer rewrites stop at a fraction of a second and
    /// leave the rest to the quote search.
    pub const STANDARD: DiffBudget = DiffBudget::units(50_000_000);

    pub const fn units(units: u64) -> Self {
        Self { units }
    }
}

/// The ops that turn `old` into `new`: equal runs, deletions, insertions and replacements.
pub fn diff_ops(old: &[char], new: &[char], budget: DiffBudget) -> Vec<DiffOp> {
    let mut search = Search {
        old,
        new,
        left: budget.units,
        runs: Vec::new(),
    };
    search.diff(0, old.len(), 0, new.len());
    let mut hook = Compact::new(Replace::new(Capture::new()), old, new);
    for run in search.runs {
        let (old_range, new_range) = (run.old, run.new);
        if run.equal {
            ok(hook.equal(old_range.start, new_range.start, old_range.len()));
            continue;
        }
        if !old_range.is_empty() {
            ok(hook.delete(old_range.start, old_range.len(), new_range.start));
        }
        if !new_range.is_empty() {
            ok(hook.insert(old_range.end, new_range.start, new_range.len()));
        }
    }
    ok(hook.finish());
    hook.into_inner().into_inner().into_ops()
}

/// A stretch of both texts: equal, or changed (either side may be empty).
struct Run {
    equal: bool,
    old: Range<usize>,
    new: Range<usize>,
}

struct Search<'a> {
    old: &'a [char],
    new: &'a [char],
    /// Units of work left.
    left: u64,
    /// What was found so far, in order, with neighbours of the same kind merged.
    runs: Vec<Run>,
}

/// A hook that only collects ops never fails.
fn ok<E>(result: Result<(), E>) {
    assert!(result.is_ok(), "capturing ops cannot fail");
}

impl Search<'_> {
    /// Spends `units`; false once the budget is gone.
    fn spend(&mut self, units: u64) -> bool {
        self.left = self.left.saturating_sub(units);
        self.left > 0
    }

    /// Records the next stretch, merged into the last one when of the same kind.
    fn push(&mut self, equal: bool, old: Range<usize>, new: Range<usize>) {
        if old.is_empty() && new.is_empty() {
            return;
        }
        match self.runs.last_mut() {
            Some(last) if last.equal == equal => {
                last.old.end = old.end;
                last.new.end = new.end;
            }
            _ => self.runs.push(Run { equal, old, new }),
        }
    }

    /// Diffs `old[o0..o1]` against `new[n0..n1]`.
    fn diff(&mut self, mut o0: usize, mut o1: usize, mut n0: usize, mut n1: usize) {
        let prefix = self.old[o0..o1]
            .iter()
            .zip(&self.new[n0..n1])
            .take_while(|(a, b)| a == b)
            .count();
        self.push(true, o0..o0 + prefix, n0..n0 + prefix);
        o0 += prefix;
        n0 += prefix;
        let suffix = self.old[o0..o1]
            .iter()
            .rev()
            .zip(self.new[n0..n1].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        o1 -= suffix;
        n1 -= suffix;
        let split = if o0 == o1 || n0 == n1 {
            None
        } else {
            self.middle(o0, o1, n0, n1)
        };
        match split {
            // A split at a corner would leave the whole problem to one half.
            Some((x, y)) if (x, y) != (o0, n0) && (x, y) != (o1, n1) => {
                self.diff(o0, x, n0, y);
                self.diff(x, o1, y, n1);
            }
            _ => self.push(false, o0..o1, n0..n1),
        }
        self.push(true, o1..o1 + suffix, n1..n1 + suffix);
    }

    /// A point on a shortest edit path from `(o0, n0)` to `(o1, n1)` that splits it into two
    /// smaller problems, or `None` when the budget ran out first. The texts differ at both
    /// ends (their common start and end were trimmed) and neither is empty.
    fn middle(&mut self, o0: usize, o1: usize, n0: usize, n1: usize) -> Option<(usize, usize)> {
        let (old, new) = (&self.old[o0..o1], &self.new[n0..n1]);
        let (n, m) = (old.len() as isize, new.len() as isize);
        let max_d = (n + m + 1) / 2;
        let offset = max_d + 1;
        let width = (2 * max_d + 3) as usize;
        // Furthest x reached on each diagonal k = x - y: forward from the start, and backward
        // from the end (with x and y counted from the end).
        let mut forward = vec![-1isize; width];
        let mut backward = vec![-1isize; width];
        forward[(offset + 1) as usize] = 0;
        backward[(offset + 1) as usize] = 0;
        let delta = n - m;
        let odd = delta % 2 != 0;
        // Diagonals that ran off the grid are not searched again.
        let (mut f_start, mut f_end, mut b_start, mut b_end) = (0, 0, 0, 0);
        for d in 0..max_d {
            let mut k = -d + f_start;
            while k <= d - f_end {
                let i = (offset + k) as usize;
                let mut x = if k == -d || (k != d && forward[i - 1] < forward[i + 1]) {
                    forward[i + 1]
                } else {
                    forward[i - 1] + 1
                };
                let mut y = x - k;
                let start = x;
                while x < n && y < m && old[x as usize] == new[y as usize] {
                    x += 1;
                    y += 1;
                }
                forward[i] = x;
                if !self.spend(1 + (x - start) as u64) {
                    return None;
                }
                if x > n {
                    f_end += 2;
                } else if y > m {
                    f_start += 2;
                } else if odd {
                    let j = offset + delta - k;
                    if (0..width as isize).contains(&j) && backward[j as usize] != -1 {
                        let reached = n - backward[j as usize];
                        if x >= reached {
                            return Some((o0 + x as usize, n0 + y as usize));
                        }
                    }
                }
                k += 2;
            }
            let mut k = -d + b_start;
            while k <= d - b_end {
                let i = (offset + k) as usize;
                let mut x = if k == -d || (k != d && backward[i - 1] < backward[i + 1]) {
                    backward[i + 1]
                } else {
                    backward[i - 1] + 1
                };
                let mut y = x - k;
                let start = x;
                while x < n && y < m && old[(n - x - 1) as usize] == new[(m - y - 1) as usize] {
                    x += 1;
                    y += 1;
                }
                backward[i] = x;
                if !self.spend(1 + (x - start) as u64) {
                    return None;
                }
                if x > n {
                    b_end += 2;
                } else if y > m {
                    b_start += 2;
                } else if !odd {
                    let j = offset + delta - k;
                    if (0..width as isize).contains(&j) && forward[j as usize] != -1 {
                        let fx = forward[j as usize];
                        let fy = fx - (j - offset);
                        if fx >= n - x {
                            return Some((o0 + fx as usize, n0 + fy as usize));
                        }
                    }
                }
                k += 2;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use similar::{capture_diff_slices, Algorithm};

    use super::*;

    /// Checks that the ops are a diff of `old` and `new`: their non-empty ranges cover each text
    /// in order, and equal runs are equal.
    fn check(old: &[char], new: &[char], ops: &[DiffOp]) {
        let (mut read, mut written) = (0, 0);
        for op in ops {
            let (o, n) = (op.old_range(), op.new_range());
            if !o.is_empty() {
                assert_eq!(o.start, read, "{ops:?}");
                read = o.end;
            }
            if !n.is_empty() {
                assert_eq!(n.start, written, "{ops:?}");
                written = n.end;
            }
            if let DiffOp::Equal { .. } = op {
                assert_eq!(old[o], new[n]);
            }
        }
        assert_eq!((read, written), (old.len(), new.len()));
    }

    /// Characters deleted plus characters inserted.
    fn edits(ops: &[DiffOp]) -> usize {
        ops.iter()
            .filter(|op| !matches!(op, DiffOp::Equal { .. }))
            .map(|op| op.old_range().len() + op.new_range().len())
            .sum()
    }

    /// Pseudo-random texts over a small alphabet, so they share a lot, from a fixed seed.
    fn texts(seed: u64, count: usize) -> Vec<Vec<char>> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let len = (state >> 33) as usize % 60;
                (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ['a', 'b', 'c', ' '][(state >> 60) as usize % 4]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn with_enough_budget_the_diff_is_a_shortest_edit_script() {
        let texts = texts(7, 200);
        for pair in texts.chunks(2) {
            let (old, new) = (&pair[0], &pair[1]);
            let ops = diff_ops(old, new, DiffBudget::STANDARD);
            check(old, new, &ops);
            let shortest = capture_diff_slices(Algorithm::Myers, old, new);
            assert_eq!(edits(&ops), edits(&shortest), "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn a_spent_budget_replaces_what_is_left_the_same_way_every_time() {
        let (old, new): (Vec<char>, Vec<char>) =
            ("aXbYc".chars().collect(), "aZbWc".chars().collect());
        let thorough = diff_ops(&old, &new, DiffBudget::STANDARD);
        assert!(thorough.contains(&DiffOp::Equal {
            old_index: 2,
            new_index: 2,
            len: 1
        }));
        let starved = diff_ops(&old, &new, DiffBudget::units(1));
        assert_eq!(
            starved,
            [
                DiffOp::Equal {
                    old_index: 0,
                    new_index: 0,
                    len: 1
                },
                DiffOp::Replace {
                    old_index: 1,
                    old_len: 3,
                    new_index: 1,
                    new_len: 3
                },
                DiffOp::Equal {
                    old_index: 4,
                    new_index: 4,
                    len: 1
                },
            ]
        );
        assert_eq!(diff_ops(&old, &new, DiffBudget::units(1)), starved);
    }

    #[test]
    fn a_budget_spent_part_way_still_gives_a_valid_diff() {
        let texts = texts(11, 40);
        for pair in texts.chunks(2) {
            let (old, new) = (&pair[0], &pair[1]);
            for units in [1, 5, 20, 80] {
                let ops = diff_ops(old, new, DiffBudget::units(units));
                check(old, new, &ops);
                assert!(edits(&ops) >= edits(&capture_diff_slices(Algorithm::Myers, old, new)));
            }
        }
    }
}
