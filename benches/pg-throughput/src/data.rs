//! Realistic `support_tickets` rows from a fixed seed: the same rows in every run and on every
//! machine.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use shared::schemas::db::{InsertSupportTicket, TicketCategory, TicketPriority, TicketStatus};
use uuid::Uuid;

/// splitmix64: small, fast, and good enough to vary test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    /// True `percent` times in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A value chosen by weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total);
        for &(item, weight) in items {
            if roll < weight {
                return item;
            }
            roll -= weight;
        }
        unreachable!()
    }

    pub fn uuid(&mut self) -> Uuid {
        let bytes = ((self.next() as u128) << 64 | self.next() as u128).to_be_bytes();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

const SUBJECT_HEADS: &[&str] = &[
    "Claim {claim} rejected",
    "Batch {batch} stuck in pending",
    "Cannot submit claim {claim}",
    "ERA for claim {claim} not posted",
    "Payment missing for claim {claim}",
    "Eligibility check fails for patient",
    "Login loop after password reset",
    "Invoice total does not match EOB",
    "Denial {code} on resubmitted claim",
    "Export of batch {batch} is empty",
];

const SUBJECT_TAILS: &[&str] = &[
    " with error {code}",
    " after resubmission",
    " for Medicare Part B",
    " since this morning",
    " on the claims page",
    " - urgent, payer deadline",
    " (second time this week)",
    " for BCBS patients",
    " when attaching documents",
    " in the new editor",
];

const SENTENCES: &[&str] = &[
    "I tried to resubmit the claim twice today and both times it came back with the same rejection code from the clearinghouse.",
    "The patient's eligibility was verified last week, so I do not understand why the payer says coverage was inactive on the date of service.",
    "Our front desk staff entered the modifiers exactly as the payer requested in their last letter.",
    "When I click Submit the page spins for about a minute and then shows a generic error without any details.",
    "This is holding up roughly forty claims for the month and our practice manager is asking about it every day.",
    "I have attached a screenshot of the error message and the claim summary page as it looked before submitting.",
    "The remittance advice shows a payment, but the balance on the claim in your system still shows the full amount as open.",
    "We switched to the new billing workflow on Monday and since then none of the secondary claims have gone out.",
    "Could someone please check whether the NPI on file for our group matches the one registered with the payer?",
    "The same claim was accepted by the payer portal directly, so the problem seems to be on the submission side.",
    "I am not sure whether this is a configuration problem on our end or a bug, so any guidance would be appreciated.",
    "Please call me back at the office if it is easier to walk through this on the phone; mornings work best.",
    "Diagnosis codes were copied from the encounter note and look correct to me, including the seventh character.",
    "The batch report lists the claim as sent, but the clearinghouse acknowledgement never arrived.",
];

const RESOLUTION_SENTENCES: &[&str] = &[
    "Corrected the rendering provider NPI on the claim and resubmitted; payer accepted it on the next cycle.",
    "The payer had a temporary outage; the batch was requeued and all claims went out successfully.",
    "Walked the physician through updating the modifier settings; resubmission was accepted.",
    "Posted the ERA manually and reconciled the open balance against the payer remittance.",
    "Reset the user's session tokens and cleared the stuck login state; confirmed sign-in works.",
    "Escalated to the clearinghouse, who fixed a mapping error on their side.",
];

const SATISFACTION_COMMENTS: &[&str] = &[
    "Quick and helpful, thank you!",
    "Took a while but the problem is fixed.",
    "Support was friendly but I had to explain the issue twice.",
    "Excellent, resolved within the hour.",
    "Still not sure what caused it.",
];

const ERROR_CODES: &[&str] = &[
    "CO-16", "CO-97", "PR-1", "N290", "MA130", "CO-4", "CO-18", "CO-29", "M51", "N382", "E1001",
];

const BROWSERS: &[(&str, &str)] = &[
    ("Chrome", "124.0.6367.91"),
    ("Chrome", "125.0.6422.60"),
    ("Edge", "124.0.2478.80"),
    ("Firefox", "126.0"),
    ("Safari", "17.4.1"),
];

const OSES: &[&str] = &["Windows 10", "Windows 11", "macOS 14.4", "ChromeOS 123"];

const PAGES: &[&str] = &[
    "claims/{claim}",
    "claims/{claim}/history",
    "batches/{batch}",
    "remittance/era",
    "patients/eligibility",
    "settings/users",
];

/// The support team members tickets are assigned to.
pub const AGENTS: &[&str] = &[
    "amelia.ortiz@support.example.com",
    "ben.nguyen@support.example.com",
    "chloe.martin@support.example.com",
    "daniel.kim@support.example.com",
    "esther.cohen@support.example.com",
    "farid.haddad@support.example.com",
    "grace.okafor@support.example.com",
    "hugo.silva@support.example.com",
];

fn fill(template: &str, claim: &str, batch: &str, code: &str) -> String {
    template
        .replace("{claim}", claim)
        .replace("{batch}", batch)
        .replace("{code}", code)
}

/// Whole words from `pool` until the text is `min..=max` characters long (ASCII only).
fn text_between(rng: &mut Rng, pool: &[&str], min: usize, max: usize) -> String {
    let target = rng.between(min, max);
    let mut text = String::with_capacity(target + 150);
    while text.len() < target {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(rng.pick(pool));
    }
    if text.len() > max {
        text.truncate(max);
        if let Some(space) = text.rfind(' ').filter(|&s| s >= min) {
            text.truncate(space);
        }
    }
    text
}

/// `count` rows for the given providers.
pub fn tickets(count: usize, providers: &[Uuid]) -> Vec<InsertSupportTicket> {
    let mut rng = Rng::new(0x5EED_7E57);
    let base: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0).unwrap();
    (0..count)
        .map(|i| {
            let claim = format!("CLM-2024-{:07}", rng.below(10_000_000));
            let batch = format!("BATCH-{:06}", rng.below(1_000_000));
            let code = rng.pick(ERROR_CODES);

            let mut subject = fill(rng.pick(SUBJECT_HEADS), &claim, &batch, code);
            let subject_len = rng.between(40, 80);
            while subject.len() < subject_len {
                subject.push_str(&fill(rng.pick(SUBJECT_TAILS), &claim, &batch, code));
            }
            subject.truncate(subject_len);
            let subject = subject.trim_end().to_string();

            let description = text_between(&mut rng, SENTENCES, 200, 500);

            let page = fill(rng.pick(PAGES), &claim, &batch, code);
            let context_url = rng.chance(80).then(|| {
                format!(
                    "https://app.billing.example.com/{page}?tab=details&ref=help&session={:016x}",
                    rng.next()
                )
            });
            let context_metadata = rng.chance(90).then(|| {
                let codes: Vec<&str> = (0..rng.between(1, 3))
                    .map(|_| rng.pick(ERROR_CODES))
                    .collect();
                let (browser, version) = rng.pick(BROWSERS);
                json!({
                    "claim_id": claim,
                    "batch_id": batch,
                    "error_codes": codes,
                    "browser": { "name": browser, "version": version, "os": rng.pick(OSES) },
                    "screen": "1920x1080",
                    "page": page,
                })
            });

            let category = rng.chance(75).then(|| {
                rng.pick(&[
                    TicketCategory::Billing,
                    TicketCategory::Technical,
                    TicketCategory::Account,
                    TicketCategory::FeatureRequest,
                ])
            });
            let priority = rng.weighted(&[
                (TicketPriority::Low, 25),
                (TicketPriority::Medium, 45),
                (TicketPriority::High, 22),
                (TicketPriority::Urgent, 8),
            ]);
            let status = rng.weighted(&[
                (TicketStatus::Open, 20),
                (TicketStatus::InProgress, 15),
                (TicketStatus::WaitingOnCustomer, 10),
                (TicketStatus::Resolved, 30),
                (TicketStatus::Closed, 25),
            ]);
            let done = matches!(status, TicketStatus::Resolved | TicketStatus::Closed);
            let assigned_to = (status != TicketStatus::Open || rng.chance(10))
                .then(|| rng.pick(AGENTS).to_string());
            let resolution_notes = (done && rng.chance(90))
                .then(|| text_between(&mut rng, RESOLUTION_SENTENCES, 80, 250));
            let resolved_at = done.then(|| {
                base + Duration::minutes(i as i64 * 3) + Duration::hours(rng.between(1, 96) as i64)
            });
            let satisfaction_rating = (done && rng.chance(50)).then(|| rng.between(1, 5) as i32);
            let satisfaction_comment = (satisfaction_rating.is_some() && rng.chance(40))
                .then(|| rng.pick(SATISFACTION_COMMENTS).to_string());
            let screenshot_path = rng.chance(25).then(|| {
                format!(
                    "screenshots/2024/{:02}/{}.png",
                    rng.between(1, 12),
                    rng.uuid()
                )
            });

            InsertSupportTicket {
                context_url,
                context_metadata,
                category,
                // Always set, so that every row binds the same 14 columns (see README.md).
                priority: Some(priority),
                status: Some(status),
                assigned_to,
                resolution_notes,
                resolved_at,
                satisfaction_rating,
                satisfaction_comment,
                screenshot_path,
                ..InsertSupportTicket::new(rng.pick(providers), subject, description)
            }
        })
        .collect()
}

/// One line describing the data, so that the report shows what was measured.
pub fn profile(rows: &[InsertSupportTicket]) -> String {
    let n = rows.len().max(1) as f64;
    let avg =
        |f: &dyn Fn(&InsertSupportTicket) -> usize| rows.iter().map(f).sum::<usize>() as f64 / n;
    let pct = |f: &dyn Fn(&InsertSupportTicket) -> bool| {
        100.0 * rows.iter().filter(|r| f(r)).count() as f64 / n
    };
    let json_bytes: Vec<usize> = rows
        .iter()
        .filter_map(|r| r.context_metadata.as_ref().map(|v| v.to_string().len()))
        .collect();
    let json_avg = json_bytes.iter().sum::<usize>() as f64 / json_bytes.len().max(1) as f64;
    format!(
        "data: {} rows; subject avg {:.0} chars ({}..{}), description avg {:.0} ({}..{}), \
         context_metadata avg {:.0} bytes of JSON; NULL: context_url {:.0}%, context_metadata {:.0}%, \
         category {:.0}%, assigned_to {:.0}%, resolution_notes {:.0}%, resolved_at {:.0}%, \
         satisfaction_rating {:.0}%, satisfaction_comment {:.0}%, screenshot_path {:.0}%",
        rows.len(),
        avg(&|r| r.subject.len()),
        rows.iter().map(|r| r.subject.len()).min().unwrap_or(0),
        rows.iter().map(|r| r.subject.len()).max().unwrap_or(0),
        avg(&|r| r.description.len()),
        rows.iter().map(|r| r.description.len()).min().unwrap_or(0),
        rows.iter().map(|r| r.description.len()).max().unwrap_or(0),
        json_avg,
        pct(&|r| r.context_url.is_none()),
        pct(&|r| r.context_metadata.is_none()),
        pct(&|r| r.category.is_none()),
        pct(&|r| r.assigned_to.is_none()),
        pct(&|r| r.resolution_notes.is_none()),
        pct(&|r| r.resolved_at.is_none()),
        pct(&|r| r.satisfaction_rating.is_none()),
        pct(&|r| r.satisfaction_comment.is_none()),
        pct(&|r| r.screenshot_path.is_none()),
    )
}
