//! Brazilian taxpayer ids, CESS's `username`: CPF (11 digits) and CNPJ
//! (14 characters, alphanumeric base since July 2026), with check digits.

use std::fmt;

/// A CPF or CNPJ whose check digits are right, zero-padded to full length.
/// Only [`TaxId::parse`] and [`TaxId::complete`] make one, so holding a
/// `TaxId` means the check digits were verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaxId {
    kind: TaxIdKind,
    value: String,
}

/// Whether a [`TaxId`] names a person or a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaxIdKind {
    /// A person: 11 digits.
    Cpf,
    /// A company: 12 base characters (`0-9`, `A-Z`) and 2 check digits.
    Cnpj,
}

/// Why a value is not a valid CPF or CNPJ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaxIdError {
    /// Neither 11 nor 14 characters.
    #[error("{0} characters: a CPF has 11 digits and a CNPJ 14 (left-pad with zeros)")]
    Length(usize),
    /// A character that is not allowed at its place.
    #[error(
        "character {position} is not allowed there (CPF: digits; CNPJ: 0-9 or A-Z, digits at the end)"
    )]
    Character {
        /// 1-based position.
        position: usize,
    },
    /// All characters equal (`00000000000`, …), which the check digits let through.
    #[error("all characters are equal")]
    Repeated,
    /// The check digits do not match.
    // The digits stay out of the message: a tax id is personal data.
    #[error("the check digits do not match")]
    CheckDigits {
        /// The digits given.
        found: String,
        /// The digits the base computes to.
        expected: String,
    },
}

const CPF_WEIGHTS: [u32; 10] = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2];
const CNPJ_WEIGHTS: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

impl TaxId {
    /// Parses and checks an 11-digit CPF or a 14-character CNPJ. Lower-case
    /// CNPJ letters are upper-cased.
    pub fn parse(s: &str) -> Result<TaxId, TaxIdError> {
        let s = s.to_ascii_uppercase();
        let len = s.chars().count();
        let (alnum_base, base_len) = match len {
            11 => (false, 9),
            14 => (true, 12),
            n => return Err(TaxIdError::Length(n)),
        };
        let mut values = Vec::with_capacity(len);
        for (i, c) in s.chars().enumerate() {
            let ok = c.is_ascii_digit() || (alnum_base && i < base_len && c.is_ascii_uppercase());
            if !ok {
                return Err(TaxIdError::Character { position: i + 1 });
            }
            // The Receita Federal rule: a character's value is its ASCII code − 48.
            values.push(u32::from(c) - 48);
        }
        if values.windows(2).all(|w| w.first() == w.get(1)) {
            return Err(TaxIdError::Repeated);
        }
        let weights: &[u32] = if alnum_base {
            &CNPJ_WEIGHTS
        } else {
            &CPF_WEIGHTS
        };
        let (base, found) = values.split_at(base_len);
        let expected = check_digits(base, weights);
        if found != expected {
            let show = |d: &[u32]| d.iter().map(u32::to_string).collect::<String>();
            return Err(TaxIdError::CheckDigits {
                found: show(found),
                expected: show(&expected),
            });
        }
        let kind = if alnum_base {
            TaxIdKind::Cnpj
        } else {
            TaxIdKind::Cpf
        };
        Ok(TaxId { kind, value: s })
    }

    /// A valid id from a base (9 digits for a CPF, 12 characters for a CNPJ),
    /// with its check digits appended: for tests and generated accounts.
    pub fn complete(base: &str) -> Result<TaxId, TaxIdError> {
        let weights: &[u32] = match base.len() {
            9 => &CPF_WEIGHTS,
            12 => &CNPJ_WEIGHTS,
            n => return Err(TaxIdError::Length(n + 2)),
        };
        let values: Vec<u32> = base
            .bytes()
            .map(|b| u32::from(b.to_ascii_uppercase()).wrapping_sub(48))
            .collect();
        let digits: String = check_digits(&values, weights)
            .iter()
            .map(u32::to_string)
            .collect();
        TaxId::parse(&format!("{base}{digits}"))
    }

    /// The id as sent: digits (and CNPJ letters), no punctuation.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// A person's CPF or a company's CNPJ.
    pub fn kind(&self) -> TaxIdKind {
        self.kind
    }

    /// The longest token lifetime CESS grants this kind of user: 7 days for
    /// a person, 30 for a company.
    pub fn max_lifetime(&self) -> u32 {
        match self.kind {
            TaxIdKind::Cpf => 604_800,
            TaxIdKind::Cnpj => 2_592_000,
        }
    }
}

/// The two check digits of `base` under `weights` (the first digit uses the
/// weights without their first element, the second all of them).
fn check_digits(base: &[u32], weights: &[u32]) -> [u32; 2] {
    let digit = |vals: &[u32], w: &[u32]| {
        let sum: u32 = vals
            .iter()
            .zip(w)
            .map(|(v, w)| v.wrapping_mul(*w))
            .fold(0, u32::wrapping_add);
        let r = sum % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    let first = digit(base, weights.get(1..).unwrap_or_default());
    let mut with_first = base.to_vec();
    with_first.push(first);
    [first, digit(&with_first, weights)]
}

impl fmt::Display for TaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(kind: TaxIdKind, value: &str) -> Result<TaxId, TaxIdError> {
        Ok(TaxId {
            kind,
            value: value.into(),
        })
    }

    #[test]
    fn documented_vectors_are_valid() {
        assert_eq!(
            TaxId::parse("52998224725"),
            expected(TaxIdKind::Cpf, "52998224725")
        );
        assert_eq!(
            TaxId::parse("11222333000181"),
            expected(TaxIdKind::Cnpj, "11222333000181")
        );
        assert_eq!(
            TaxId::complete("529982247").unwrap().as_str(),
            "52998224725"
        );
        assert_eq!(
            TaxId::complete("112223330001").unwrap().as_str(),
            "11222333000181"
        );
    }

    #[test]
    fn alphanumeric_cnpj() {
        // Receita Federal's published example: 12ABC34501DE → check digits 35.
        assert_eq!(
            TaxId::parse("12abc34501de35"),
            expected(TaxIdKind::Cnpj, "12ABC34501DE35")
        );
        assert!(TaxId::parse("12ABC34501DE36").is_err());
        assert!(matches!(
            TaxId::parse("12ABC34501D3EA"),
            Err(TaxIdError::Character { .. })
        ));
    }

    #[test]
    fn check_digits_cannot_catch_every_substitution() {
        // The algorithm folds remainders 0 and 1 into the digit 0, so this
        // one-character change keeps both check digits: a limit of the
        // Receita Federal rule itself, not of this code.
        assert!(TaxId::parse("NXNL17H70D1A00").is_ok());
        assert!(TaxId::parse("NXNL17H72D1A00").is_ok());
        assert!(TaxId::parse("35462247605").is_ok());
        assert!(TaxId::parse("25462247605").is_ok());
        // In an alphanumeric CNPJ, a letter and a digit whose values differ
        // by a multiple of 11 (J = 26, 4 = 4) are interchangeable.
        assert!(TaxId::parse("AAA0AJ00AAA283").is_ok());
        assert!(TaxId::parse("AAA0A400AAA283").is_ok());
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(TaxId::parse("5299822472"), Err(TaxIdError::Length(10)));
        assert_eq!(TaxId::parse("11111111111"), Err(TaxIdError::Repeated));
        assert_eq!(
            TaxId::parse("5299822472A"),
            Err(TaxIdError::Character { position: 11 })
        );
        assert_eq!(
            TaxId::parse("52998224726"),
            Err(TaxIdError::CheckDigits {
                found: "26".into(),
                expected: "25".into()
            })
        );
    }
}
