//! `[[promotions]]`: each promotion's window (read in the program timezone when it has no
//! offset), multiplier, bonus, grant and filters; a promotion must do something.

use std::collections::HashSet;

use jiff::tz::TimeZone;
use toml::Spanned;

use super::Validator;
use crate::program::parse::RawPromotion;
use crate::program::{ProgramError, Promotion};

impl Validator<'_> {
    pub(super) fn promotions(
        &self,
        raw: Vec<Spanned<RawPromotion>>,
        timezone: &TimeZone,
    ) -> Result<Vec<Promotion>, ProgramError> {
        let mut promotions = Vec::new();
        let mut ids = HashSet::new();
        for pr in raw {
            let pr = pr.into_inner();
            let id = self.slug("promotions.id", &pr.id)?;
            self.unique(&mut ids, "promotions.id", &pr.id)?;
            let starts = self.instant("promotions.starts", &pr.starts, timezone)?;
            let ends = self.instant("promotions.ends", &pr.ends, timezone)?;
            if ends <= starts {
                return self.err("promotions.ends", pr.ends.span(), "must be after starts");
            }
            let multiplier = pr
                .multiplier
                .as_ref()
                .map(|m| self.multiplier("promotions.multiplier", m))
                .transpose()?;
            let bonus = pr
                .bonus
                .as_ref()
                .map(|b| self.non_negative("promotions.bonus", b))
                .transpose()?
                .unwrap_or(0);
            let grant = pr
                .grant
                .as_ref()
                .map(|g| self.positive("promotions.grant", g))
                .transpose()?;
            let applies_to = match pr.applies_to {
                Some(list) => Some(
                    list.into_inner()
                        .iter()
                        .map(|t| self.trigger("promotions.applies_to", t))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                None => None,
            };
            if multiplier.is_none() && bonus == 0 && grant.is_none() {
                return self.err(
                    "promotions.multiplier",
                    pr.id.span(),
                    format!("promotion `{id}` does nothing: set multiplier, bonus or grant"),
                );
            }
            promotions.push(Promotion {
                id,
                starts,
                ends,
                multiplier,
                bonus,
                applies_to,
                plans: pr.plans.map(Spanned::into_inner),
                grant,
            });
        }
        Ok(promotions)
    }
}
