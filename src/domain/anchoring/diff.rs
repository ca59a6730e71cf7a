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

use std::ops::{ControlFlow, Range};

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
    ///
    /// Each round `d` lets both searches make one more edit, forward first; the first to reach
    /// a diagonal the other has already passed gives the split.
    fn middle(&mut self, o0: usize, o1: usize, n0: usize, n1: usize) -> Option<(usize, usize)> {
        let (old, new) = (self.old, self.new);
        let grid = Grid::new(&old[o0..o1], &new[n0..n1]);
        let mut forward = Frontier::new(&grid);
        let mut backward = Frontier::new(&grid);
        let split =
            |found: Option<(isize, isize)>| found.map(|(x, y)| (o0 + x as usize, n0 + y as usize));
        for d in 0..grid.max_d {
            if let ControlFlow::Break(found) = self.forward_round(&grid, d, &mut forward, &backward)
            {
                return split(found);
            }
            if let ControlFlow::Break(found) =
                self.backward_round(&grid, d, &mut backward, &forward)
            {
                return split(found);
            }
        }
        None
    }

    /// One round of the forward search: every live diagonal gets one more edit. It breaks
    /// with the split point (counted from the start) when it overlaps the backward search,
    /// which can only happen when the lengths differ by an odd number, or with `None` when
    /// the budget is gone.
    fn forward_round(
        &mut self,
        grid: &Grid,
        d: isize,
        forward: &mut Frontier,
        backward: &Frontier,
    ) -> ControlFlow<Option<(isize, isize)>> {
        let mut k = -d + forward.skip_start;
        while k <= d - forward.skip_end {
            let same = |x: isize, y: isize| grid.old[x as usize] == grid.new[y as usize];
            let Some((x, y)) = self.extend(grid, forward, k, d, same) else {
                return ControlFlow::Break(None);
            };
            if forward.on_grid(grid, x, y) && grid.odd {
                if let Some((_, reached)) = grid.opposite(k, backward) {
                    if x >= grid.n - reached {
                        return ControlFlow::Break(Some((x, y)));
                    }
                }
            }
            k += 2;
        }
        ControlFlow::Continue(())
    }

    /// One round of the backward search, the mirror of [`Self::forward_round`]: it can meet
    /// the forward search only when the lengths differ by an even number, and breaks with the
    /// forward search's point there (counted from the start).
    fn backward_round(
        &mut self,
        grid: &Grid,
        d: isize,
        backward: &mut Frontier,
        forward: &Frontier,
    ) -> ControlFlow<Option<(isize, isize)>> {
        let mut k = -d + backward.skip_start;
        while k <= d - backward.skip_end {
            let same = |x: isize, y: isize| {
                grid.old[(grid.n - x - 1) as usize] == grid.new[(grid.m - y - 1) as usize]
            };
            let Some((x, y)) = self.extend(grid, backward, k, d, same) else {
                return ControlFlow::Break(None);
            };
            if backward.on_grid(grid, x, y) && !grid.odd {
                if let Some((j, fx)) = grid.opposite(k, forward) {
                    let fy = fx - (j - grid.offset);
                    if fx >= grid.n - x {
                        return ControlFlow::Break(Some((fx, fy)));
                    }
                }
            }
            k += 2;
        }
        ControlFlow::Continue(())
    }

    /// Extends diagonal `k` of a search by one edit and then along every matching character
    /// (`same` compares in the search's own direction), spending one unit for the edit and one
    /// per match. Gives the point reached, or `None` once the budget is gone.
    fn extend(
        &mut self,
        grid: &Grid,
        frontier: &mut Frontier,
        k: isize,
        d: isize,
        same: impl Fn(isize, isize) -> bool,
    ) -> Option<(isize, isize)> {
        let i = (grid.offset + k) as usize;
        let reach = &mut frontier.reach;
        let mut x = if k == -d || (k != d && reach[i - 1] < reach[i + 1]) {
            reach[i + 1]
        } else {
            reach[i - 1] + 1
        };
        let mut y = x - k;
        let start = x;
        while x < grid.n && y < grid.m && same(x, y) {
            x += 1;
            y += 1;
        }
        reach[i] = x;
        self.spend(1 + (x - start) as u64).then_some((x, y))
    }
}

/// The sub-problem [`Search::middle`] works on: two non-empty stretches of the texts, and the
/// sizes of its table of diagonals.
struct Grid<'a> {
    old: &'a [char],
    new: &'a [char],
    n: isize,
    m: isize,
    /// Rounds after which the two searches must have met.
    max_d: isize,
    /// Index of diagonal 0 in a frontier's table.
    offset: isize,
    width: usize,
    /// `n - m`: the diagonal on which the end lies, seen from the start.
    delta: isize,
    /// Whether `delta` is odd, which decides which search can detect the overlap.
    odd: bool,
}

impl<'a> Grid<'a> {
    fn new(old: &'a [char], new: &'a [char]) -> Self {
        let (n, m) = (old.len() as isize, new.len() as isize);
        let max_d = (n + m + 1) / 2;
        let delta = n - m;
        Self {
            old,
            new,
            n,
            m,
            max_d,
            offset: max_d + 1,
            width: (2 * max_d + 3) as usize,
            delta,
            odd: delta % 2 != 0,
        }
    }

    /// The other search's diagonal that diagonal `k` of this one lies on, and the furthest x
    /// the other search reached on it; `None` when that diagonal is off the table or not
    /// reached yet.
    fn opposite(&self, k: isize, other: &Frontier) -> Option<(isize, isize)> {
        let j = self.offset + self.delta - k;
        if !(0..self.width as isize).contains(&j) {
            return None;
        }
        let reached = other.reach[j as usize];
        (reached != -1).then_some((j, reached))
    }
}

/// How far one search (forward from the start, or backward from the end with x and y counted
/// from the end) has got on each diagonal k = x - y.
struct Frontier {
    /// Furthest x reached on each diagonal, indexed by `offset + k`; -1 where none yet.
    reach: Vec<isize>,
    /// Diagonals at the low and the high end that ran off the grid, not searched again.
    skip_start: isize,
    skip_end: isize,
}

impl Frontier {
    fn new(grid: &Grid) -> Self {
        let mut reach = vec![-1isize; grid.width];
        reach[(grid.offset + 1) as usize] = 0;
        Self {
            reach,
            skip_start: 0,
            skip_end: 0,
        }
    }

    /// Whether the point a diagonal reached is still on the grid; a diagonal that ran off it
    /// is dropped from the next rounds.
    fn on_grid(&mut self, grid: &Grid, x: isize, y: isize) -> bool {
        if x > grid.n {
            self.skip_end += 2;
            false
        } else if y > grid.m {
            self.skip_start += 2;
            false
        } else {
            true
        }
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
