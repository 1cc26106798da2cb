//! Life-cycle states (GlobalPlatform Card Specification chapter 5, life cycle models, and the
//! life-cycle coding tables of chapter 11), as GET STATUS reports them (tag `9F70`) and SET
//! STATUS changes them (P2).

use super::GpError;

/// The card life cycle (the issuer security domain's view of the whole card).
///
/// ```text
/// OP_READY → INITIALIZED → SECURED ⇄ CARD_LOCKED
///     └──────────┴────────────┴──────────┴──→ TERMINATED
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CardLifeCycle {
    /// `01`: runtime ready, issuer security domain installed.
    OpReady,
    /// `07`: initial data loaded, not yet issued.
    Initialized,
    /// `0F`: issued; the normal state in the field.
    Secured,
    /// `7F`: locked by the issuer (or a card-lock privileged application); reversible.
    CardLocked,
    /// `FF`: end of life, irreversible.
    Terminated,
}

impl CardLifeCycle {
    /// Decodes the life-cycle byte.
    pub const fn from_byte(byte: u8) -> Result<CardLifeCycle, GpError> {
        match byte {
            0x01 => Ok(CardLifeCycle::OpReady),
            0x07 => Ok(CardLifeCycle::Initialized),
            0x0F => Ok(CardLifeCycle::Secured),
            0x7F => Ok(CardLifeCycle::CardLocked),
            0xFF => Ok(CardLifeCycle::Terminated),
            _ => Err(GpError::InvalidParameter("unknown card life-cycle state")),
        }
    }

    /// The life-cycle byte.
    pub const fn value(self) -> u8 {
        match self {
            CardLifeCycle::OpReady => 0x01,
            CardLifeCycle::Initialized => 0x07,
            CardLifeCycle::Secured => 0x0F,
            CardLifeCycle::CardLocked => 0x7F,
            CardLifeCycle::Terminated => 0xFF,
        }
    }

    /// Whether SET STATUS may move the card from `self` to `next`: forward through OP_READY,
    /// INITIALIZED and SECURED (never back), SECURED ⇄ CARD_LOCKED, and any state but
    /// TERMINATED to TERMINATED.
    pub const fn can_transition_to(self, next: CardLifeCycle) -> bool {
        use CardLifeCycle::*;
        match (self, next) {
            (Terminated, _) => false,
            (_, Terminated) => true,
            (OpReady, Initialized | Secured) | (Initialized, Secured) => true,
            (Secured, CardLocked) | (CardLocked, Secured) => true,
            _ => false,
        }
    }
}

/// An application or security domain life-cycle byte.
///
/// The low three bits `111` mean SELECTABLE; applications may define their own states in bits
/// 4-7 on top of that (e.g. `0F`, which for a security domain means PERSONALIZED); bit 8 marks a
/// LOCKED application, keeping the state it was locked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppLifeCycle(u8);

impl AppLifeCycle {
    /// `03`: installed, not selectable yet.
    pub const INSTALLED: AppLifeCycle = AppLifeCycle(0x03);
    /// `07`: selectable.
    pub const SELECTABLE: AppLifeCycle = AppLifeCycle(0x07);
    /// `0F`: personalized (security domains; application-specific for applications).
    pub const PERSONALIZED: AppLifeCycle = AppLifeCycle(0x0F);
    /// `83`: an installed application locked (bit 8 set).
    pub const LOCKED: AppLifeCycle = AppLifeCycle(0x83);
    /// Bit 8: locked.
    pub const LOCK_BIT: u8 = 0x80;

    /// Decodes a life-cycle byte: bits 1-2 must be `11` (INSTALLED at least).
    pub const fn from_byte(byte: u8) -> Result<AppLifeCycle, GpError> {
        if byte & 0x03 == 0x03 {
            Ok(AppLifeCycle(byte))
        } else {
            Err(GpError::InvalidParameter(
                "unknown application life-cycle state",
            ))
        }
    }

    /// The life-cycle byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether bit 8 (LOCKED) is set.
    pub const fn is_locked(self) -> bool {
        self.0 & Self::LOCK_BIT != 0
    }

    /// Whether the application can be selected: SELECTABLE or beyond and not locked.
    pub const fn is_selectable(self) -> bool {
        self.0 & 0x07 == 0x07 && !self.is_locked()
    }

    /// The same state with the lock bit set.
    pub const fn locked(self) -> AppLifeCycle {
        AppLifeCycle(self.0 | Self::LOCK_BIT)
    }

    /// The state the application was locked in.
    pub const fn unlocked(self) -> AppLifeCycle {
        AppLifeCycle(self.0 & !Self::LOCK_BIT)
    }
}

/// The life-cycle byte of an executable load file: LOADED.
pub const LOAD_FILE_LOADED: u8 = 0x01;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_states_round_trip() {
        for (byte, state) in [
            (0x01, CardLifeCycle::OpReady),
            (0x07, CardLifeCycle::Initialized),
            (0x0F, CardLifeCycle::Secured),
            (0x7F, CardLifeCycle::CardLocked),
            (0xFF, CardLifeCycle::Terminated),
        ] {
            assert_eq!(CardLifeCycle::from_byte(byte), Ok(state));
            assert_eq!(state.value(), byte);
        }
        assert!(CardLifeCycle::from_byte(0x03).is_err());
    }

    #[test]
    fn card_transitions() {
        use CardLifeCycle::*;
        assert!(OpReady.can_transition_to(Initialized));
        assert!(Initialized.can_transition_to(Secured));
        assert!(!Secured.can_transition_to(Initialized));
        assert!(Secured.can_transition_to(CardLocked));
        assert!(CardLocked.can_transition_to(Secured));
        assert!(!OpReady.can_transition_to(CardLocked));
        assert!(CardLocked.can_transition_to(Terminated));
        assert!(!Terminated.can_transition_to(Secured));
        assert!(!Terminated.can_transition_to(Terminated));
    }

    #[test]
    fn application_lock_keeps_the_state() {
        let app = AppLifeCycle::SELECTABLE;
        assert!(app.is_selectable());
        let locked = app.locked();
        assert_eq!(locked.value(), 0x87);
        assert!(locked.is_locked() && !locked.is_selectable());
        assert_eq!(locked.unlocked(), app);
        assert_eq!(AppLifeCycle::INSTALLED.locked(), AppLifeCycle::LOCKED);
        assert!(!AppLifeCycle::INSTALLED.is_selectable());
        assert!(AppLifeCycle::PERSONALIZED.is_selectable());
        assert!(AppLifeCycle::from_byte(0x01).is_err());
        assert_eq!(AppLifeCycle::from_byte(0x1F).unwrap().value(), 0x1F);
    }
}
