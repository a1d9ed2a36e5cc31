//! `derbes request` and `derbes breach`: subjects' requests and breaches with their
//! legal deadlines. The arithmetic and the storage live in `ops::request` and
//! `kz::calendar`; this layer parses, confirms and prints.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use crate::cli::{
    BreachCloseArgs, BreachCommand, BreachListArgs, BreachOpenArgs, CalendarArgs, ChannelArg,
    JurisdictionArg, OutcomeArg, RequestCloseArgs, RequestCommand, RequestExtendArgs,
    RequestKindArg, RequestListArgs, RequestOpenArgs, RequestShowArgs,
};
use crate::commands::subject::{parse_identity, resolve_one};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::kz::calendar::Calendar;
use crate::ops::request::{
    self, BreachDetail, BreachRecord, CloseBreach, CloseRequest, Jurisdiction, Kind, ListFilter,
    OpenBreach, OpenRequest, Outcome, RequestDetail, RequestError, RequestRecord,
};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, command: RequestCommand) -> anyhow::Result<()> {
    match command {
        RequestCommand::Open(args) => open(ctx, args).await,
        RequestCommand::List(args) => list(ctx, args).await,
        RequestCommand::Show(args) => show(ctx, args).await,
        RequestCommand::Close(args) => close(ctx, args).await,
        RequestCommand::Extend(args) => extend(ctx, args).await,
    }
}

pub async fn run_breach(ctx: &Context, command: BreachCommand) -> anyhow::Result<()> {
    match command {
        BreachCommand::Open(args) => open_breach(ctx, args).await,
        BreachCommand::List(args) => list_breaches(ctx, args).await,
        BreachCommand::Show(args) => show_breach(ctx, args).await,
        BreachCommand::Close(args) => close_breach(ctx, args).await,
    }
}

/// The calendar of `--calendar` (else the built-in one); a bad file is exit 2
/// through the one exit-code table.
fn calendar(args: &CalendarArgs) -> anyhow::Result<Calendar> {
    Ok(Calendar::load(args.calendar.as_deref())?)
}

fn kind(kind: RequestKindArg) -> Kind {
    match kind {
        RequestKindArg::Access => Kind::Access,
        RequestKindArg::Rectify => Kind::Rectify,
        RequestKindArg::Block => Kind::Block,
        RequestKindArg::Destroy => Kind::Destroy,
        RequestKindArg::WithdrawConsent => Kind::WithdrawConsent,
        RequestKindArg::ObjectAutomated => Kind::ObjectAutomated,
        RequestKindArg::TransferNotice => Kind::TransferNotice,
    }
}

/// A moment as the support desk types it: RFC 3339 with its offset, or a local
/// date and time (`2026-11-27T09:30`, `2026-11-27 09:30[:00]`) in `zone`.
pub(crate) fn parse_moment(
    option: &str,
    text: &str,
    zone: chrono_tz::Tz,
) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            if let Some(at) = zone.from_local_datetime(&local).earliest() {
                return Ok(at.with_timezone(&Utc));
            }
        }
    }
    Err(DerbesError::Usage(format!(
        "{option} is not a time: give 2026-11-27T09:30 (in {zone}) or 2026-11-27T09:30:00+05:00"
    ))
    .into())
}

async fn open(ctx: &Context, args: RequestOpenArgs) -> anyhow::Result<()> {
    let identity = parse_identity(args.subject_identity())?;
    let calendar = calendar(&args.calendar)?;
    let map = ctx.map()?;
    let zone = map.time_zone();
    let kind = kind(args.kind);
    let jurisdiction = match args.jurisdiction {
        JurisdictionArg::Kz => Jurisdiction::Kz,
        JurisdictionArg::Gdpr => Jurisdiction::Gdpr,
    };
    let today = crate::when::today(zone);
    if args.received > today {
        return Err(anyhow::Error::new(RequestError::ReceivedInFuture {
            received: args.received,
            today,
        }));
    }
    // The due date is checked before any connection: a date the calendar does not
    // cover is refused whatever the database holds.
    request::due_date(
        &calendar,
        kind,
        jurisdiction,
        args.received,
        args.access_days,
    )
    .map_err(RequestError::from)?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    let subject_ref = format!("{}:{}", map.subject.table, candidate.key);
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Open a {kind} request for {} received {} (ticket {})?",
                candidate.label(),
                args.received,
                args.ticket.reference
            ),
            args.confirm.yes,
        )?;
    }
    let open = OpenRequest {
        kind,
        subject_ref,
        received: args.received,
        channel: args.channel.map(|c| {
            match c {
                ChannelArg::Email => "email",
                ChannelArg::Call => "call",
                ChannelArg::Office => "office",
            }
            .to_owned()
        }),
        jurisdiction,
        access_days: args.access_days,
        ticket: args.ticket.reference,
        operator: ctx.operator.clone(),
        today,
        dry_run: args.confirm.dry_run,
    };
    let detail = request::open(&mut client, &calendar, &open).await?;
    emit(ctx.format(), &detail)
}

/// What `request list` prints: requests and breaches, each with its deadline.
#[derive(Serialize)]
struct Deadlines {
    today: NaiveDate,
    requests: Vec<RequestRecord>,
    breaches: Vec<BreachRecord>,
    overdue: usize,
}

async fn list(ctx: &Context, args: RequestListArgs) -> anyhow::Result<()> {
    let today = crate::when::today(ctx.time_zone()?);
    let (client, _) = ctx.connect().await?;
    crate::pg::migrate::ensure_current(&client).await?;
    let filter = ListFilter {
        overdue: args.overdue,
        due_within: args.due_within,
        all: args.all,
        subject_ref: None,
    };
    let requests = request::list(&client, &filter, today).await?;
    let breaches = request::list_breaches(&client, &filter, today).await?;
    let overdue = requests.iter().filter(|r| r.overdue).count()
        + breaches.iter().filter(|b| b.overdue).count();
    emit(
        ctx.format(),
        &Deadlines {
            today,
            requests,
            breaches,
            overdue,
        },
    )?;
    overdue_exit(args.overdue, overdue)
}

/// With `--overdue`, anything late is exit 6, after the list was printed.
fn overdue_exit(asked: bool, overdue: usize) -> anyhow::Result<()> {
    if asked && overdue > 0 {
        return Err(DerbesError::VerificationFailed(format!(
            "{overdue} request(s) or breach(es) are past their deadline: answer them (see the list above), \
             then close them with `derbes request close` or `derbes breach close`"
        ))
        .into());
    }
    Ok(())
}

async fn show(ctx: &Context, args: RequestShowArgs) -> anyhow::Result<()> {
    let today = crate::when::today(ctx.time_zone()?);
    let (client, _) = ctx.connect().await?;
    crate::pg::migrate::ensure_current(&client).await?;
    let detail = request::show(&client, args.id, today).await?;
    emit(ctx.format(), &detail)
}

async fn close(ctx: &Context, args: RequestCloseArgs) -> anyhow::Result<()> {
    let today = crate::when::today(ctx.time_zone()?);
    let (mut client, _) = ctx.connect().await?;
    ctx.gate_schema(&client).await?;
    let before = request::show(&client, args.id, today).await?;
    let outcome = match args.outcome {
        OutcomeArg::Done => Outcome::Done,
        OutcomeArg::Refused => Outcome::Refused,
        OutcomeArg::Partly => Outcome::Partly,
        OutcomeArg::Withdrawn => Outcome::Withdrawn,
    };
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Close request {} ({} for {}, due {}) as {}? {} audit row(s) are linked to it.",
                args.id,
                before.request.kind,
                before.request.subject_ref,
                before.request.due_on,
                outcome.as_str(),
                before.audit.len()
            ),
            args.confirm.yes,
        )?;
    }
    let detail = request::close(
        &mut client,
        &CloseRequest {
            id: args.id,
            outcome,
            outcome_ref: args.reply,
            ticket: args.ticket.reference,
            operator: ctx.operator.clone(),
            today,
            dry_run: args.confirm.dry_run,
        },
    )
    .await?;
    emit(ctx.format(), &detail)
}

async fn extend(ctx: &Context, args: RequestExtendArgs) -> anyhow::Result<()> {
    let today = crate::when::today(ctx.time_zone()?);
    let (mut client, _) = ctx.connect().await?;
    ctx.gate_schema(&client).await?;
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Extend request {} by two months (GDPR Art. 12(3))? Tell the subject why within the first month.",
                args.id
            ),
            args.confirm.yes,
        )?;
    }
    let detail = request::extend(
        &mut client,
        args.id,
        &args.ticket.reference,
        &ctx.operator,
        today,
        args.confirm.dry_run,
    )
    .await?;
    emit(ctx.format(), &detail)
}

async fn open_breach(ctx: &Context, args: BreachOpenArgs) -> anyhow::Result<()> {
    let calendar = calendar(&args.calendar)?;
    let zone = ctx.time_zone()?;
    let discovered_at = parse_moment("--discovered", &args.discovered, zone)?;
    let discovered_on = discovered_at.with_timezone(&zone).date_naive();
    request::notify_by(&calendar, discovered_on).map_err(RequestError::from)?;
    let identities = match &args.subjects {
        Some(path) => Some(crate::commands::block::read_identities(&[], Some(path))?),
        None => None,
    };
    let (mut client, _) = ctx.connect().await?;
    let subject_refs = match identities {
        Some(identities) => {
            let map = ctx.map()?;
            let catalog = ctx.gate(&client, &map).await?;
            let found =
                crate::ops::block::find_identities(&client, &map, &catalog, &identities.identities)
                    .await?;
            let subjects = crate::ops::block::check_guards(
                found,
                crate::ops::block::Guards {
                    max: usize::MAX,
                    skip_unknown: false,
                },
            )
            .map_err(|e| breach_subjects_error(e, args.subjects.as_deref()))?;
            let mut refs: Vec<String> = subjects.into_iter().map(|s| s.subject).collect();
            refs.sort();
            refs.dedup();
            refs
        }
        None => {
            ctx.gate_schema(&client).await?;
            Vec::new()
        }
    };
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Record a breach discovered {} concerning {} subject(s) (ticket {})?",
                discovered_at
                    .with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M %Z"),
                subject_refs.len(),
                args.ticket.reference
            ),
            args.confirm.yes,
        )?;
    }
    let today = crate::when::today(zone);
    let detail = request::open_breach(
        &mut client,
        &calendar,
        &OpenBreach {
            discovered_at,
            discovered_on,
            summary: args.summary,
            subject_refs,
            ticket: args.ticket.reference,
            operator: ctx.operator.clone(),
            dry_run: args.confirm.dry_run,
        },
        today,
    )
    .await?;
    emit(ctx.format(), &detail)
}

/// A guard of `check_guards` refusing `breach open --subjects FILE`, in the words
/// of this command: the block command's ("pass --skip-unknown to block the rest",
/// "nothing to block") would name an option `breach open` does not take.
fn breach_subjects_error(
    error: crate::ops::block::BlockError,
    file: Option<&std::path::Path>,
) -> anyhow::Error {
    use crate::ops::block::BlockError;
    let file = file.map(|p| p.display().to_string()).unwrap_or_default();
    match error {
        BlockError::Unknown { count, listed } => DerbesError::NotFound(format!(
            "{count} identit(y/ies) in --subjects {file} match no subject, so the breach was not \
             recorded: {}; correct them, or remove them from the file (a `#` starts a comment), \
             then run `breach open` again",
            listed.join(", ")
        ))
        .into(),
        BlockError::NothingSelected => DerbesError::NotFound(format!(
            "no identity in --subjects {file} matches a subject, so the breach was not recorded; \
             check the file, or leave --subjects out to record a breach without subjects"
        ))
        .into(),
        other => other.into(),
    }
}

async fn list_breaches(ctx: &Context, args: BreachListArgs) -> anyhow::Result<()> {
    let today = crate::when::today(ctx.time_zone()?);
    let (client, _) = ctx.connect().await?;
    crate::pg::migrate::ensure_current(&client).await?;
    let filter = ListFilter {
        overdue: args.overdue,
        all: args.all,
        ..Default::default()
    };
    let breaches = request::list_breaches(&client, &filter, today).await?;
    let overdue = breaches.iter().filter(|b| b.overdue).count();
    emit(
        ctx.format(),
        &Deadlines {
            today,
            requests: Vec::new(),
            breaches,
            overdue,
        },
    )?;
    overdue_exit(args.overdue, overdue)
}

async fn show_breach(ctx: &Context, args: RequestShowArgs) -> anyhow::Result<()> {
    let today = crate::when::today(ctx.time_zone()?);
    let (client, _) = ctx.connect().await?;
    crate::pg::migrate::ensure_current(&client).await?;
    let detail = request::show_breach(&client, args.id, today).await?;
    emit(ctx.format(), &detail)
}

async fn close_breach(ctx: &Context, args: BreachCloseArgs) -> anyhow::Result<()> {
    let zone = ctx.time_zone()?;
    let notified_at = parse_moment("--notified-at", &args.notified_at, zone)?;
    if notified_at > Utc::now() {
        return Err(DerbesError::Usage(
            "--notified-at is in the future: give when the authorised body was told".to_owned(),
        )
        .into());
    }
    let today = crate::when::today(zone);
    let (mut client, _) = ctx.connect().await?;
    ctx.gate_schema(&client).await?;
    let before = request::show_breach(&client, args.id, today).await?;
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Close breach {} (authorised body told by {}, told {})?",
                args.id,
                before.breach.notify_by,
                notified_at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z")
            ),
            args.confirm.yes,
        )?;
    }
    let detail = request::close_breach(
        &mut client,
        &CloseBreach {
            id: args.id,
            notified_at,
            reference: args.reference,
            ticket: args.ticket.reference,
            operator: ctx.operator.clone(),
            today,
            dry_run: args.confirm.dry_run,
        },
    )
    .await?;
    emit(ctx.format(), &detail)
}

fn request_state(r: &RequestRecord) -> String {
    match (&r.outcome, r.overdue) {
        (Some(outcome), _) => format!("closed: {outcome}"),
        (None, true) => "OVERDUE".to_owned(),
        (None, false) => "open".to_owned(),
    }
}

fn breach_state(b: &BreachRecord) -> String {
    match (&b.closed_at, b.overdue) {
        (Some(_), _) => "closed: notified".to_owned(),
        (None, true) => "OVERDUE".to_owned(),
        (None, false) => "open".to_owned(),
    }
}

impl Tabular for Deadlines {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "id", "kind", "subject", "received", "due", "state", "ticket",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .requests
            .iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.kind.clone(),
                    r.subject_ref.clone(),
                    r.received_on.to_string(),
                    r.due_on.to_string(),
                    request_state(r),
                    r.ticket.clone(),
                ]
            })
            .collect();
        rows.extend(self.breaches.iter().map(|b| {
            vec![
                format!("breach {}", b.id),
                "breach".to_owned(),
                format!("{} subject(s)", b.subjects.len()),
                b.discovered_at.format("%Y-%m-%d").to_string(),
                b.notify_by.to_string(),
                breach_state(b),
                b.ticket.clone(),
            ]
        }));
        rows
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "{} request(s), {} breach(es); today is {}",
            self.requests.len(),
            self.breaches.len(),
            self.today
        )];
        if self.overdue > 0 {
            notes.push(format!("{} past their deadline", self.overdue));
        }
        notes
    }
}

fn audit_rows(rows: &mut Vec<Vec<String>>, audit: &[crate::pg::audit::AuditRecord]) {
    if audit.is_empty() {
        rows.push(vec!["done".to_owned(), "nothing recorded yet".to_owned()]);
    }
    for record in audit {
        rows.push(vec![
            format!("audit #{}", record.seq),
            format!(
                "{} {} by {} (ticket {}){}",
                record.at.format("%Y-%m-%d %H:%M"),
                record.action,
                record.operator,
                record.ticket.as_deref().unwrap_or("-"),
                record
                    .subject_ref
                    .as_deref()
                    .map(|s| format!(" on {s}"))
                    .unwrap_or_default()
            ),
        ]);
    }
}

impl Tabular for RequestDetail {
    fn headers(&self) -> Vec<&'static str> {
        vec!["field", "value"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let r = &self.request;
        let deadline = match r.days {
            Some(days) => format!(
                "{} ({days} working day(s) on the calendar \"{}\"; {})",
                r.due_on,
                r.calendar,
                self.basis.unwrap_or("")
            ),
            None => format!(
                "{} (GDPR Art. 12(3): one month{})",
                r.due_on,
                if r.extended { ", extended by two" } else { "" }
            ),
        };
        let mut rows = vec![
            vec!["request".to_owned(), r.id.to_string()],
            vec!["kind".to_owned(), r.kind.clone()],
            vec!["subject".to_owned(), r.subject_ref.clone()],
            vec![
                "received".to_owned(),
                format!(
                    "{}{}",
                    r.received_on,
                    r.channel
                        .as_deref()
                        .map(|c| format!(" by {c}"))
                        .unwrap_or_default()
                ),
            ],
            vec!["due".to_owned(), deadline],
            vec!["state".to_owned(), request_state(r)],
            vec!["ticket".to_owned(), r.ticket.clone()],
        ];
        if let Some(reply) = &r.outcome_ref {
            rows.push(vec!["reply".to_owned(), reply.clone()]);
        }
        audit_rows(&mut rows, &self.audit);
        rows
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.due_provisional {
            notes.push(format!(
                "warning: the due date {} is provisional: it was counted by the law's rules across \
                 a year whose transfer orders or Kurban Ait date are not known yet (see `derbes \
                 calendar show YEAR`); check it when they are published",
                self.request.due_on
            ));
        }
        if self.request.status == "open" {
            notes.push(format!(
                "link what you do for it: add --request {} to rectify, block, unblock, export, \
                 erase, anonymise, consent or archive",
                self.request.id
            ));
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}

impl Tabular for BreachDetail {
    fn headers(&self) -> Vec<&'static str> {
        vec!["field", "value"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let b = &self.breach;
        let mut rows = vec![
            vec!["breach".to_owned(), b.id.to_string()],
            vec![
                "discovered".to_owned(),
                b.discovered_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ],
            vec!["summary".to_owned(), b.summary.clone()],
            vec!["subjects".to_owned(), b.subjects.len().to_string()],
            vec![
                "tell the authorised body by".to_owned(),
                format!(
                    "{} (one working day, on the calendar \"{}\")",
                    b.notify_by, b.calendar
                ),
            ],
            vec!["state".to_owned(), breach_state(b)],
            vec![
                "blocks made for it".to_owned(),
                format!("{} ({} subject(s))", b.blocks, b.subjects_blocked),
            ],
            vec!["ticket".to_owned(), b.ticket.clone()],
        ];
        if let (Some(at), Some(reference)) = (&b.notified_at, &b.reference) {
            rows.push(vec![
                "notified".to_owned(),
                format!("{} ({reference})", at.format("%Y-%m-%d %H:%M UTC")),
            ]);
        }
        audit_rows(&mut rows, &self.audit);
        rows
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.due_provisional {
            notes.push(format!(
                "warning: the deadline {} is provisional: it was counted by the law's rules across \
                 a year whose transfer orders or Kurban Ait date are not known yet (see `derbes \
                 calendar show YEAR`)",
                self.breach.notify_by
            ));
        }
        if self.breach.closed_at.is_none() {
            notes.push(format!(
                "block the accounts it exposed with `derbes block --from-file FILE --reason compromised --breach {}`",
                self.breach.id
            ));
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
