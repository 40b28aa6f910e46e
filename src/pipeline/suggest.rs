//! "Did you mean ...?" suggestions for misspelt keys and values.
//!
//! The distance is the optimal-string-alignment variant of Damerau-Levenshtein:
//! insertions, deletions, substitutions and swaps of two neighbouring characters
//! each cost 1, so `bacth` is one edit away from `batch`.

/// Edit distance between `a` and `b` (insert, delete, substitute, or swap two
/// adjacent characters; each costs 1). Compares Unicode scalar values.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Row-major (a.len() + 1) x (b.len() + 1) table.
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// How far apart two equally long words are character by character (sum of the
/// differences of their code points); used only to break ties between candidates
/// at the same edit distance, so that `n16` suggests `n15` rather than `n13`.
fn character_gap(a: &str, b: &str) -> u64 {
    if a.chars().count() != b.chars().count() {
        return u64::MAX;
    }
    a.chars()
        .zip(b.chars())
        .map(|(x, y)| u64::from(x).abs_diff(u64::from(y)))
        .sum()
}

/// The largest edit distance at which `word` still gets a suggestion:
/// one edit for short words, a third of the length for longer ones.
pub fn max_distance(word: &str) -> usize {
    (word.chars().count() / 3).max(1)
}

/// The candidate closest to `word`, if one is within [`max_distance`] edits.
///
/// Ties go to the candidate whose characters are nearest (see the module docs),
/// then to the earlier candidate. A candidate equal to `word` is returned as is.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = max_distance(word);
    let mut best: Option<(usize, u64, &'a str)> = None;
    for &candidate in candidates {
        let d = distance(word, candidate);
        if d > limit {
            continue;
        }
        let gap = character_gap(word, candidate);
        let better = match best {
            None => true,
            Some((best_d, best_gap, _)) => (d, gap) < (best_d, best_gap),
        };
        if better {
            best = Some((d, gap, candidate));
        }
    }
    best.map(|(_, _, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("bacth", "batch"), 1);
        assert_eq!(distance("fftt", "fft"), 1);
        assert_eq!(distance("lrr", "lr"), 1);
        assert_eq!(distance("ca", "abc"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            closest("bacth", &["epochs", "batch", "seed"]),
            Some("batch")
        );
        assert_eq!(closest("lrr", &["lr", "betas", "eps"]), Some("lr"));
        assert_eq!(closest("n16", &["convt", "n13", "n15", "n17"]), Some("n15"));
        assert_eq!(closest("fftt", &["bce", "fft"]), Some("fft"));
        assert_eq!(closest("xyz", &["lr", "betas", "eps"]), None);
        assert_eq!(closest("x", &[]), None);
        assert_eq!(
            closest("rmse_spacial", &["rmse_spatial", "rmse_fft2", "rmse_ai"]),
            Some("rmse_spatial")
        );
    }
}
