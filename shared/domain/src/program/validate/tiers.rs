//! `[[tiers]]`: unique names, the lowest at 0 points, ordered by increasing `min_points`.

use std::collections::HashSet;

use rust_decimal::Decimal;
use toml::Spanned;

use super::Validator;
use crate::program::parse::RawTier;
use crate::program::{ProgramError, Tier};

impl Validator<'_> {
    pub(super) fn tiers(&self, raw: Vec<Spanned<RawTier>>) -> Result<Vec<Tier>, ProgramError> {
        let mut tiers: Vec<Tier> = Vec::new();
        let mut names = HashSet::new();
        for t in raw {
            let t = t.into_inner();
            self.unique(&mut names, "tiers.name", &t.name)?;
            let min_points = self.non_negative("tiers.min_points", &t.min_points)?;
            if tiers.is_empty() && min_points != 0 {
                return self.err(
                    "tiers.min_points",
                    t.min_points.span(),
                    "the lowest tier must start at 0",
                );
            }
            if tiers
                .last()
                .is_some_and(|prev| prev.min_points >= min_points)
            {
                return self.err(
                    "tiers.min_points",
                    t.min_points.span(),
                    "tiers must be ordered by increasing min_points",
                );
            }
            let multiplier = match &t.multiplier {
                Some(m) => self.multiplier("tiers.multiplier", m)?,
                None => Decimal::ONE,
            };
            tiers.push(Tier {
                name: t.name.into_inner(),
                min_points,
                multiplier,
                grants: t.grants,
            });
        }
        Ok(tiers)
    }
}
