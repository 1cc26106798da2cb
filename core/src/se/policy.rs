//! Which secure element the wallet uses: the user's preferred kind if present, else eSE → SIM →
//! SD; with no SE at all, host card emulation.

use super::service::Reader;
use super::transport::{split_reader_name, ReaderInfo, ReaderKind};

/// Fallback order when the preferred kind is absent.
pub const FALLBACK_ORDER: [ReaderKind; 3] = [ReaderKind::Ese, ReaderKind::Sim, ReaderKind::Sd];

/// Where card functions run.
///
/// "No secure element" is a normal outcome, not an error: the wallet then emulates the card in
/// the host (HCE). That is why the policy returns a route rather than
/// `Err(SeError::NoSecureElement)`.
#[derive(Debug)]
pub enum SeRoute {
    /// Use the SE in this reader.
    Se(Reader),
    /// No SE is present: use host card emulation.
    Hce,
}

/// The reader to use among `readers`: a present reader of the `preferred` kind, else the first
/// present kind in [`FALLBACK_ORDER`]; within a kind the lowest index (`eSE1` before `eSE2`).
/// Readers that are absent or whose name follows no OMAPI convention are never chosen. `None`:
/// no usable SE, the route is HCE.
pub fn choose_reader(readers: &[ReaderInfo], preferred: Option<ReaderKind>) -> Option<&ReaderInfo> {
    preference_order(readers, preferred).into_iter().next()
}

/// All present readers of a known kind, best first (the order [`choose_reader`] prefers).
pub fn preference_order(readers: &[ReaderInfo], preferred: Option<ReaderKind>) -> Vec<&ReaderInfo> {
    let rank = |kind: ReaderKind| {
        let fallback = FALLBACK_ORDER
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(FALLBACK_ORDER.len());
        if Some(kind) == preferred {
            0
        } else {
            1 + fallback
        }
    };
    let mut usable: Vec<(usize, u32, &ReaderInfo)> = readers
        .iter()
        .filter(|r| r.present)
        .filter_map(|r| {
            let kind = r.kind?;
            let index = split_reader_name(&r.name).map_or(u32::MAX, |(_, i)| i);
            Some((rank(kind), index, r))
        })
        .collect();
    usable.sort_by_key(|&(rank, index, _)| (rank, index));
    usable.into_iter().map(|(_, _, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers(list: &[(&str, bool)]) -> Vec<ReaderInfo> {
        list.iter().map(|&(n, p)| ReaderInfo::new(n, p)).collect()
    }

    fn chosen(list: &[(&str, bool)], preferred: Option<ReaderKind>) -> Option<String> {
        choose_reader(&readers(list), preferred).map(|r| r.name.clone())
    }

    #[test]
    fn preferred_kind_wins_when_present() {
        let all = [("eSE1", true), ("SIM1", true), ("SD1", true)];
        assert_eq!(chosen(&all, Some(ReaderKind::Sim)).as_deref(), Some("SIM1"));
        assert_eq!(chosen(&all, Some(ReaderKind::Sd)).as_deref(), Some("SD1"));
        assert_eq!(chosen(&all, None).as_deref(), Some("eSE1"));
    }

    #[test]
    fn absent_preferred_kind_falls_back_ese_sim_sd() {
        let list = [("SD1", true), ("SIM1", true), ("eSE1", false)];
        assert_eq!(
            chosen(&list, Some(ReaderKind::Ese)).as_deref(),
            Some("SIM1")
        );
        let list = [("SD1", true), ("SIM1", false)];
        assert_eq!(chosen(&list, Some(ReaderKind::Sim)).as_deref(), Some("SD1"));
    }

    #[test]
    fn lowest_index_first_and_unknown_names_ignored() {
        let list = [("Vendor0", true), ("eSE2", true), ("eSE1", true)];
        assert_eq!(chosen(&list, None).as_deref(), Some("eSE1"));
        let infos = readers(&list);
        let order: Vec<&str> = preference_order(&infos, None)
            .into_iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(order, ["eSE1", "eSE2"]);
    }

    #[test]
    fn nothing_present_means_hce() {
        assert_eq!(chosen(&[("eSE1", false), ("SIM1", false)], None), None);
        assert_eq!(chosen(&[], Some(ReaderKind::Ese)), None);
    }
}
