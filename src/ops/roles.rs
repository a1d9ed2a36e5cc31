//! Least-privilege group roles for derbes' three kinds of users, computed from the
//! data map and the live catalogue (`derbes roles --print-sql`).
//!
//! Three NOLOGIN group roles, `<prefix>_support`, `<prefix>_oncall` and
//! `<prefix>_dpo` (prefix `derbes` unless told), get exactly what their commands
//! need; the DBA makes each person's login a member of one. What each role may do
//! is kept in one table, [`RULES`], read from what the operations write: the data
//! map then says which tables and columns a rule covers (the rectifiable columns,
//! the `[block]` columns, the ledgers), so the roles fit any schema a map fits.
//!
//! None of the roles is a superuser or owns a table; none may change or remove an
//! audit row (the SQL revokes UPDATE, DELETE and TRUNCATE on `derbes.audit_log`
//! explicitly). Dropping or detaching an expired partition needs the table's
//! owner in PostgreSQL, which no grant gives: where partition rules are used the
//! DBA grants the owner role to the DPO's login, knowingly.
//!
//! [`describe_missing`] turns a "permission denied" into which grant is missing and
//! which derbes role holds it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use tokio_postgres::GenericClient;

use crate::map::{quote_ident, DataMap, TableName};

/// The role name prefix when none is given.
pub const DEFAULT_PREFIX: &str = "derbes";

/// derbes' own schema.
const OWN_SCHEMA: &str = "derbes";

/// One of the three group roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Support,
    Oncall,
    Dpo,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Support, Role::Oncall, Role::Dpo];

    /// The part after the prefix: `support`, `oncall`, `dpo`.
    pub fn suffix(self) -> &'static str {
        match self {
            Role::Support => "support",
            Role::Oncall => "oncall",
            Role::Dpo => "dpo",
        }
    }

    /// The role's name under `prefix`: `derbes_support`.
    pub fn name(self, prefix: &str) -> String {
        format!("{prefix}_{}", self.suffix())
    }

    /// Who holds it and what they run, for the SQL's comments.
    pub fn users(self) -> &'static str {
        match self {
            Role::Support => {
                "support staff: subject show, export, rectify, consent, request, policy, disclosure"
            }
            Role::Oncall => "on-call engineers: block, unblock, block list, breach",
            Role::Dpo => "the DPO: purge, anonymise, erase, archive, breach, request, audit",
        }
    }
}

/// The commands (first word of the command line) each role is meant to run: what a
/// refusal names as the role to use. Commands not listed (migrate, map, sample,
/// completions, calendar, roles) are the table owner's or need no database.
pub const COMMANDS: &[(&str, &[Role])] = &[
    ("subject", &[Role::Support, Role::Oncall, Role::Dpo]),
    ("export", &[Role::Support, Role::Dpo]),
    ("rectify", &[Role::Support]),
    ("consent", &[Role::Support]),
    ("request", &[Role::Support, Role::Dpo]),
    ("policy", &[Role::Support]),
    ("disclosure", &[Role::Support]),
    ("block", &[Role::Oncall]),
    ("unblock", &[Role::Oncall]),
    ("blocks", &[Role::Oncall, Role::Support, Role::Dpo]),
    ("breach", &[Role::Oncall, Role::Dpo]),
    ("purge", &[Role::Dpo]),
    ("anonymise", &[Role::Dpo]),
    ("erase", &[Role::Dpo]),
    ("archive", &[Role::Dpo]),
    ("audit", &[Role::Dpo, Role::Support, Role::Oncall]),
    ("report", &[Role::Dpo]),
];

/// A table privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    Select,
    Insert,
    Update,
    Delete,
}

impl Privilege {
    pub fn keyword(self) -> &'static str {
        match self {
            Privilege::Select => "SELECT",
            Privilege::Insert => "INSERT",
            Privilege::Update => "UPDATE",
            Privilege::Delete => "DELETE",
        }
    }
}

/// What a rule covers: one of derbes' own tables, or tables and columns the data
/// map names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A table of schema `derbes`.
    Own(&'static str),
    /// Every table the data map names (personal tables, ledgers, block targets).
    Mapped,
    /// The columns marked `rectify = true`; UPDATE is granted on them only.
    RectifyColumns,
    /// The `[block]` set, revoke and bump columns; UPDATE on them only.
    BlockColumns,
    /// `[ledgers] consents`.
    ConsentLedger,
    /// `[ledgers] disclosures`.
    DisclosureLedger,
    /// `[ledgers] policy`, the versions table.
    PolicyVersions,
    /// `[ledgers] policy`, the notices table.
    PolicyNotices,
}

/// One line of [`RULES`]: these roles get these privileges on this target, because
/// of `why` (what reads or writes it).
pub struct Rule {
    pub roles: &'static [Role],
    pub target: Target,
    pub privileges: &'static [Privilege],
    pub why: &'static str,
}

const EVERYONE: &[Role] = &[Role::Support, Role::Oncall, Role::Dpo];
use Privilege::{Delete, Insert, Select, Update};

/// What each role may do, and why: the one place the privileges are decided. Read
/// from the statements of each operation (`src/ops/`, `src/pg/audit.rs`); a new
/// table an operation writes needs a line here, or its role is refused.
pub const RULES: &[Rule] = &[
    // Everyone.
    Rule { roles: EVERYONE, target: Target::Mapped, privileges: &[Select], why: "find the subject, show and export what is held, check the map (the gate)" },
    Rule { roles: EVERYONE, target: Target::Own("schema_migrations"), privileges: &[Select], why: "the gate checks derbes' schema is current and unmodified" },
    Rule { roles: EVERYONE, target: Target::Own("audit_log"), privileges: &[Select, Insert], why: "every change appends its audit row after reading the chain's head" },
    Rule { roles: EVERYONE, target: Target::Own("audit_lock"), privileges: &[Update], why: "appends are serialised by LOCK TABLE ... IN EXCLUSIVE MODE, which needs UPDATE; the table can hold no row" },
    Rule { roles: EVERYONE, target: Target::Own("blocks"), privileges: &[Select], why: "subject show lists blocks; a block is a legal hold" },
    Rule { roles: EVERYONE, target: Target::Own("requests"), privileges: &[Select], why: "--request is checked before a change; an open request is a legal hold" },
    Rule { roles: EVERYONE, target: Target::Own("breaches"), privileges: &[Select], why: "--breach is checked before a change" },
    // Support.
    Rule { roles: &[Role::Support], target: Target::RectifyColumns, privileges: &[Update], why: "rectify changes only the columns the map marks rectify = true" },
    Rule { roles: &[Role::Support], target: Target::ConsentLedger, privileges: &[Insert, Update], why: "consent grant and withdraw" },
    Rule { roles: &[Role::Support], target: Target::PolicyVersions, privileges: &[Insert], why: "policy publish records the version" },
    Rule { roles: &[Role::Support], target: Target::PolicyNotices, privileges: &[Insert, Update], why: "policy publish notifies each subject; policy objection records the objection" },
    Rule { roles: &[Role::Support], target: Target::DisclosureLedger, privileges: &[Insert], why: "disclosure record" },
    Rule { roles: &[Role::Support], target: Target::Own("requests"), privileges: &[Insert, Update], why: "request open, extend, close" },
    Rule { roles: &[Role::Support], target: Target::Own("policy_publications"), privileges: &[Select, Insert], why: "policy publish records each publication once" },
    // On-call.
    Rule { roles: &[Role::Oncall], target: Target::BlockColumns, privileges: &[Update], why: "block and unblock set the status, revoke sessions and bump the token version" },
    Rule { roles: &[Role::Oncall], target: Target::Own("blocks"), privileges: &[Insert, Update], why: "block writes a history row per subject; unblock closes it" },
    Rule { roles: &[Role::Oncall, Role::Dpo], target: Target::Own("breaches"), privileges: &[Insert, Update], why: "breach open and close" },
    // DPO.
    Rule { roles: &[Role::Dpo], target: Target::Mapped, privileges: &[Insert, Update, Delete], why: "purge and erase delete, anonymise masks, archive restore inserts" },
    Rule { roles: &[Role::Dpo], target: Target::Own("jobs"), privileges: &[Select, Insert, Update, Delete], why: "checkpoints of purge, anonymise and restore runs" },
    Rule { roles: &[Role::Dpo], target: Target::Own("archives"), privileges: &[Select, Insert, Delete], why: "the archive catalogue: dump adds, expire removes" },
    Rule { roles: &[Role::Dpo], target: Target::Own("archive_runs"), privileges: &[Select, Insert, Delete], why: "an archive run in progress, so another refuses" },
    Rule { roles: &[Role::Dpo], target: Target::Own("cohort_marks"), privileges: &[Select, Insert, Update], why: "anonymise --rule marks the cohort it took" },
    Rule { roles: &[Role::Dpo], target: Target::Own("cohort_pending"), privileges: &[Select, Insert, Delete], why: "anonymise --rule keeps the keys still to do" },
    Rule { roles: &[Role::Dpo], target: Target::PolicyVersions, privileges: &[Select], why: "report counts notices and objections per policy version" },
    Rule { roles: &[Role::Dpo], target: Target::Own("erasures"), privileges: &[Select, Insert], why: "erase records each erasure (append-only), archive restore reads them" },
];

/// One GRANT on a table: these privileges (UPDATE on `columns` only, when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableGrant {
    pub table: TableName,
    pub privileges: BTreeSet<Privilege>,
    /// Column-level UPDATE: the only columns the role may change.
    pub update_columns: BTreeSet<String>,
    pub why: Vec<&'static str>,
}

/// What one role gets.
#[derive(Debug, Clone, Default)]
pub struct RoleGrants {
    /// Table grants, in the order first met.
    pub tables: Vec<TableGrant>,
    /// Sequences of the tables it inserts into (USAGE: a `serial` default takes
    /// values from it), and whether it may also move them (UPDATE: `archive
    /// restore` moves a restored table's sequence past the keys it brought back).
    pub sequences: BTreeMap<TableName, bool>,
}

impl RoleGrants {
    fn add(
        &mut self,
        table: TableName,
        privileges: &[Privilege],
        columns: Option<&BTreeSet<String>>,
        why: &'static str,
    ) {
        let index = match self.tables.iter().position(|g| g.table == table) {
            Some(i) => i,
            None => {
                self.tables.push(TableGrant {
                    table,
                    privileges: BTreeSet::new(),
                    update_columns: BTreeSet::new(),
                    why: Vec::new(),
                });
                self.tables.len() - 1
            }
        };
        let grant = &mut self.tables[index];
        for privilege in privileges {
            match (privilege, columns) {
                (Privilege::Update, Some(columns)) => {
                    grant.update_columns.extend(columns.iter().cloned())
                }
                _ => {
                    grant.privileges.insert(*privilege);
                }
            }
        }
        if !grant.why.contains(&why) {
            grant.why.push(why);
        }
    }

    /// Inserts into this table.
    fn inserts(&self, table: &TableName) -> bool {
        self.tables
            .iter()
            .any(|g| &g.table == table && g.privileges.contains(&Privilege::Insert))
    }

    /// Restores archives into this mapped table: may insert, update and delete any
    /// row of it (the DPO's grant on mapped tables; a ledger's INSERT and UPDATE
    /// alone is not a restore).
    fn restores(&self, table: &TableName) -> bool {
        table.schema != OWN_SCHEMA
            && self.tables.iter().any(|g| {
                &g.table == table
                    && [Privilege::Insert, Privilege::Update, Privilege::Delete]
                        .iter()
                        .all(|p| g.privileges.contains(p))
            })
    }
}

/// The privileges of every role, from [`RULES`] and the data map alone (no
/// sequences: those come from the catalogue, [`Plan::read`]).
#[derive(Debug, Clone)]
pub struct Plan {
    pub prefix: String,
    /// Schemas of the mapped tables, and `derbes`.
    pub schemas: BTreeSet<String>,
    pub roles: BTreeMap<Role, RoleGrants>,
    /// The grants rule by rule, as the SQL prints them.
    pub sections: Vec<Section>,
}

/// One rule of [`RULES`] applied to the map: its roles, why, and the tables (with
/// the columns UPDATE is limited to, if any) it covers.
#[derive(Debug, Clone)]
pub struct Section {
    pub roles: &'static [Role],
    pub why: &'static str,
    pub privileges: &'static [Privilege],
    pub tables: Vec<(TableName, Option<BTreeSet<String>>)>,
}

/// Why no roles can be planned.
#[derive(Debug, thiserror::Error)]
pub enum RolesError {
    #[error("--prefix {0:?} is not a plain role name prefix: use lower-case letters, digits and _ (starting with a letter, at most 40 characters)")]
    BadPrefix(String),
    #[error("the data map names tables the database does not have: {}; nothing was printed. Run `derbes map check` and fix the map or the --db it is checked against", .0.join(", "))]
    MissingTables(Vec<String>),
    #[error("derbes' own schema is not installed in this database (or is older than this binary): run `derbes migrate` as the owner first, then print the roles")]
    NotMigrated,
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// A prefix that is safe as the start of an unquoted role name.
pub fn check_prefix(prefix: &str) -> Result<(), RolesError> {
    let mut chars = prefix.chars();
    let ok = prefix.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(RolesError::BadPrefix(prefix.to_owned()))
    }
}

impl Plan {
    /// The table privileges of each role, from the map: every table the map names
    /// in the map's schema or its own, its rectifiable and block columns, its ledgers.
    pub fn from_map(map: &DataMap, prefix: &str) -> Result<Plan, RolesError> {
        check_prefix(prefix)?;
        let mapped: BTreeSet<TableName> = map
            .named_columns()
            .into_iter()
            .map(|(table, _, _)| map.table_name(&table))
            .collect();
        let mut rectify: BTreeMap<TableName, BTreeSet<String>> = BTreeMap::new();
        for (table, spec) in &map.tables {
            for (column, c) in &spec.columns {
                if c.rectify && c.locked_reason.is_none() {
                    rectify
                        .entry(map.table_name(table))
                        .or_default()
                        .insert(column.clone());
                }
            }
        }
        let mut block: BTreeMap<TableName, BTreeSet<String>> = BTreeMap::new();
        if let Some(spec) = &map.block {
            let columns = spec
                .set
                .iter()
                .map(|s| (&s.table, &s.column))
                .chain(spec.revoke.iter().map(|r| (&r.table, &r.column)))
                .chain(spec.bump.iter().map(|b| (&b.table, &b.column)));
            for (table, column) in columns {
                block
                    .entry(map.table_name(table))
                    .or_default()
                    .insert(column.clone());
            }
        }
        let ledgers = &map.ledgers;
        let one = |name: Option<&String>| -> Vec<TableName> {
            name.map(|n| vec![map.table_name(n)]).unwrap_or_default()
        };
        let mut roles: BTreeMap<Role, RoleGrants> = Role::ALL
            .iter()
            .map(|r| (*r, RoleGrants::default()))
            .collect();
        let mut sections = Vec::new();
        for rule in RULES {
            let own = |name: &str| TableName {
                schema: OWN_SCHEMA.to_owned(),
                table: name.to_owned(),
            };
            let targets: Vec<(TableName, Option<&BTreeSet<String>>)> = match rule.target {
                Target::Own(name) => vec![(own(name), None)],
                Target::Mapped => mapped.iter().map(|t| (t.clone(), None)).collect(),
                Target::RectifyColumns => {
                    rectify.iter().map(|(t, c)| (t.clone(), Some(c))).collect()
                }
                Target::BlockColumns => block.iter().map(|(t, c)| (t.clone(), Some(c))).collect(),
                Target::ConsentLedger => one(ledgers.consents.as_ref().map(|l| &l.table))
                    .into_iter()
                    .map(|t| (t, None))
                    .collect(),
                Target::DisclosureLedger => one(ledgers.disclosures.as_ref().map(|l| &l.table))
                    .into_iter()
                    .map(|t| (t, None))
                    .collect(),
                Target::PolicyVersions => one(ledgers.policy.as_ref().map(|l| &l.versions))
                    .into_iter()
                    .map(|t| (t, None))
                    .collect(),
                Target::PolicyNotices => one(ledgers.policy.as_ref().map(|l| &l.notices))
                    .into_iter()
                    .map(|t| (t, None))
                    .collect(),
            };
            for role in rule.roles {
                let grants = roles.get_mut(role).expect("every role is planned");
                for (table, columns) in &targets {
                    grants.add(table.clone(), rule.privileges, *columns, rule.why);
                }
            }
            if !targets.is_empty() {
                sections.push(Section {
                    roles: rule.roles,
                    why: rule.why,
                    privileges: rule.privileges,
                    tables: targets.into_iter().map(|(t, c)| (t, c.cloned())).collect(),
                });
            }
        }
        let mut schemas: BTreeSet<String> = mapped.iter().map(|t| t.schema.clone()).collect();
        schemas.insert(OWN_SCHEMA.to_owned());
        Ok(Plan {
            prefix: prefix.to_owned(),
            schemas,
            roles,
            sections,
        })
    }

    /// [`Plan::from_map`], checked against the live database (every table exists,
    /// derbes' schema is installed), with the sequences of the tables each role
    /// inserts into: those a column default takes values from (`serial`, `DEFAULT
    /// nextval(...)`: USAGE) and those a column owns (identity, serial), which the
    /// role that restores archives moves with `setval` (UPDATE).
    pub async fn read(
        client: &impl GenericClient,
        map: &DataMap,
        prefix: &str,
    ) -> Result<Plan, RolesError> {
        let mut plan = Plan::from_map(map, prefix)?;
        let tables: BTreeSet<TableName> = plan
            .roles
            .values()
            .flat_map(|g| g.tables.iter().map(|t| t.table.clone()))
            .collect();
        let quoted: Vec<String> = tables.iter().map(TableName::quoted).collect();
        let missing: Vec<String> = client
            .query(
                "SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL ORDER BY t",
                &[&quoted],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let own_missing: Vec<&String> = missing
            .iter()
            .filter(|t| t.starts_with("\"derbes\"."))
            .collect();
        if !own_missing.is_empty() {
            return Err(RolesError::NotMigrated);
        }
        if !missing.is_empty() {
            return Err(RolesError::MissingTables(missing));
        }
        // Sequences a column default takes values from, and sequences a column owns,
        // with the table they serve.
        let rows = client
            .query(
                "WITH t AS (SELECT t, to_regclass(t) AS rel FROM unnest($1::text[]) AS t), \
                 seq AS ( \
                     SELECT t.t, d.refobjid AS seq FROM t \
                     JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = t.rel \
                     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass \
                          AND d.objid = ad.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                     UNION \
                     SELECT t.t, d.objid FROM t \
                     JOIN pg_catalog.pg_depend d ON d.refobjid = t.rel \
                          AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                          AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')) \
                 SELECT DISTINCT seq.t, sn.nspname::text, s.relname::text FROM seq \
                 JOIN pg_catalog.pg_class s ON s.oid = seq.seq AND s.relkind = 'S' \
                 JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace \
                 ORDER BY 1, 2, 3",
                &[&quoted],
            )
            .await?;
        for row in rows {
            let table: String = row.get(0);
            let Some(table) = tables.iter().find(|t| t.quoted() == table) else {
                continue;
            };
            let sequence = TableName {
                schema: row.get(1),
                table: row.get(2),
            };
            for grants in plan.roles.values_mut() {
                if grants.inserts(table) {
                    let restores = grants.restores(table);
                    let update = grants.sequences.entry(sequence.clone()).or_default();
                    *update |= restores;
                }
            }
        }
        Ok(plan)
    }

    fn role_name(&self, role: Role) -> String {
        quote_ident(&role.name(&self.prefix))
    }

    /// The SQL that creates the roles and grants them exactly this plan: one
    /// transaction, safe to run again (existing roles are kept, their privileges on
    /// the schemas concerned reset to the plan).
    pub fn sql(&self) -> String {
        let mut out = String::new();
        let all: Vec<String> = Role::ALL.iter().map(|r| self.role_name(*r)).collect();
        let all = all.join(", ");
        let schemas: Vec<String> = self.schemas.iter().map(|s| quote_ident(s)).collect();
        out.push_str(
            "-- Least-privilege group roles for derbes, generated from the data map and the\n\
             -- catalogue by `derbes roles --print-sql`. Review, then run as the tables' owner\n\
             -- (or a role with CREATEROLE that may grant on them), e.g. with psql -1 -f.\n\
             -- Running it again is safe: existing roles are kept and their privileges on\n\
             -- these schemas are reset to what follows.\n\
             --\n\
             -- The roles cannot log in. Make each person's login a member of one:\n",
        );
        for role in Role::ALL {
            let _ = writeln!(
                out,
                "--   GRANT {} TO <login>;   -- {}",
                self.role_name(role),
                role.users()
            );
        }
        out.push_str(
            "--\n\
             -- None is a superuser or owns a table. Dropping or detaching an expired\n\
             -- partition (purge of a partitioned table) needs the table's owner in\n\
             -- PostgreSQL, which no grant gives: where partition rules are used, the DBA\n\
             -- grants the owner role to the DPO's login explicitly; this script does not.\n\
             -- Temporary tables (archive, purge, anonymise) use the TEMPORARY privilege\n\
             -- on the database, which PUBLIC has by default.\n\n",
        );
        out.push_str("BEGIN;\n\n");
        out.push_str(
            "-- Create the roles that do not exist; refuse one that exists but may log in\n\
             -- or is a superuser (a person's login must not become a group).\n\
             DO $$\n\
             DECLARE\n    r text;\n\
             BEGIN\n",
        );
        let literals: Vec<String> = Role::ALL
            .iter()
            .map(|r| format!("'{}'", r.name(&self.prefix)))
            .collect();
        let _ = writeln!(
            out,
            "    FOREACH r IN ARRAY ARRAY[{}] LOOP",
            literals.join(", ")
        );
        out.push_str(
            "        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN\n\
             \x20           EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);\n\
             \x20       ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r\n\
             \x20                     AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolbypassrls)) THEN\n\
             \x20           RAISE EXCEPTION 'role % exists and can log in or has a superuser attribute: it is not a derbes group role', r;\n\
             \x20       END IF;\n\
             \x20   END LOOP;\n\
             END\n$$;\n\n",
        );
        out.push_str("-- Start from nothing on these schemas, so a rerun after the map changed\n-- leaves exactly the grants below.\n");
        for schema in &schemas {
            let _ = writeln!(
                out,
                "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {all};"
            );
            let _ = writeln!(
                out,
                "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {all};"
            );
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "-- Every role: the schemas of the mapped tables and derbes' own.\nGRANT USAGE ON SCHEMA {} TO {all};\n",
            schemas.join(", ")
        );
        for section in &self.sections {
            let names: Vec<String> = section.roles.iter().map(|r| self.role_name(*r)).collect();
            let who = if section.roles.len() == Role::ALL.len() {
                "every role".to_owned()
            } else {
                names.join(", ")
            };
            let _ = writeln!(out, "-- {who}: {}", section.why);
            for (table, columns) in &section.tables {
                let privileges: Vec<String> = section
                    .privileges
                    .iter()
                    .map(|p| match (p, columns) {
                        (Update, Some(columns)) => {
                            let quoted: Vec<String> =
                                columns.iter().map(|c| quote_ident(c)).collect();
                            format!("UPDATE ({})", quoted.join(", "))
                        }
                        _ => p.keyword().to_owned(),
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "GRANT {} ON TABLE {} TO {};",
                    privileges.join(", "),
                    table.quoted(),
                    names.join(", ")
                );
            }
            out.push('\n');
        }
        for role in Role::ALL {
            let grants = &self.roles[&role];
            if grants.sequences.is_empty() {
                continue;
            }
            let name = self.role_name(role);
            let _ = writeln!(
                out,
                "-- {name}: the sequences of the tables it inserts into (USAGE: serial \
                 defaults; UPDATE: archive restore moves them past the keys it restored)"
            );
            for (sequence, update) in &grants.sequences {
                let _ = writeln!(
                    out,
                    "GRANT {} ON SEQUENCE {} TO {name};",
                    if *update { "USAGE, UPDATE" } else { "USAGE" },
                    sequence.quoted()
                );
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "-- The audit log is append-only: no role may change or remove its rows, whatever\n\
             -- was granted before (its triggers refuse it too; this refuses it earlier).\n\
             REVOKE UPDATE, DELETE, TRUNCATE ON TABLE \"derbes\".\"audit_log\" FROM {all};\n"
        );
        out.push_str("COMMIT;\n");
        out
    }

    /// The grants `role` has on `table` (matched by schema and name, or by name alone
    /// when the server gave no schema), as `SELECT, UPDATE ("status")`.
    pub fn grants_on(&self, role: Role, schema: Option<&str>, table: &str) -> Option<String> {
        let grant = self.roles[&role]
            .tables
            .iter()
            .find(|g| g.table.table == table && schema.is_none_or(|s| g.table.schema == s))?;
        let mut privileges: Vec<String> = grant
            .privileges
            .iter()
            .map(|p| p.keyword().to_owned())
            .collect();
        if !grant.update_columns.is_empty() && !grant.privileges.contains(&Update) {
            let columns: Vec<&str> = grant.update_columns.iter().map(String::as_str).collect();
            privileges.push(format!("UPDATE ({})", columns.join(", ")));
        }
        Some(format!("{} on {}", privileges.join(", "), grant.table))
    }
}

/// The roles meant to run `command` (its first word).
pub fn roles_for(command: &str) -> &'static [Role] {
    COMMANDS
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, roles)| *roles)
        .unwrap_or(&[])
}

/// What a "permission denied" during `command` means in derbes' roles: which
/// grant the command needs on the object the server named (`kind` "table",
/// "schema", "sequence"; `object` its name as the server gave it) and which derbes
/// role has it. `plan`, when the data map was at hand, names the privileges.
pub fn describe_missing(plan: Option<&Plan>, command: &str, kind: &str, object: &str) -> String {
    let roles = roles_for(command);
    let prefix = plan.map_or(DEFAULT_PREFIX, |p| p.prefix.as_str());
    if roles.is_empty() {
        return format!(
            "`derbes {command}` was refused a privilege on {kind} {object}: this command is \
             run by the tables' owner, not by a derbes group role; nothing was changed"
        );
    }
    let names: Vec<String> = roles.iter().map(|r| r.name(prefix)).collect();
    let (schema, table) = match object.split_once('.') {
        Some((s, t)) if kind == "table" => (Some(s), t),
        _ => (None, object),
    };
    let needs = plan
        .filter(|_| kind == "table")
        .and_then(|p| roles.iter().find_map(|r| p.grants_on(*r, schema, table)))
        .unwrap_or_else(|| match kind {
            "schema" => format!("USAGE on schema {object}"),
            "sequence" => format!("USAGE on sequence {object}"),
            _ => format!("its privileges on {kind} {object}"),
        });
    format!(
        "`derbes {command}` needs {needs}, which the connected role lacks \
         (SQLSTATE 42501): it is granted to {}; connect as a login that is a member of it \
         (the DBA: `GRANT {} TO <login>;`, the roles come from `derbes roles --print-sql`). \
         Nothing was changed: the transaction was rolled back",
        names.join(" and "),
        names[0]
    )
}

/// What "must be owner of table T" during `command` means: dropping or detaching
/// a partition, which PostgreSQL allows only the table's owner and no derbes role is
/// granted.
pub fn describe_owner_needed(command: &str, table: &str) -> String {
    format!(
        "`derbes {command}` had to drop or detach a partition of {table}, which PostgreSQL \
         allows only the table's owner (SQLSTATE 42501): no derbes role is granted that. \
         Where partition rules are used the DBA grants the owner role of {table} to the \
         DPO's login explicitly (see `derbes roles --print-sql`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_map() -> DataMap {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/datamap.toml");
        DataMap::load(&path).expect("the reference map loads")
    }

    #[test]
    fn roles_rules_name_only_derbes_own_tables_and_never_change_the_audit_log() {
        for rule in RULES {
            if let Target::Own(table) = rule.target {
                assert!(
                    crate::pg::migrate::OWN_TABLES.contains(&table),
                    "{table} is not a table of schema derbes"
                );
                if table == "audit_log" {
                    assert!(!rule.privileges.contains(&Update));
                    assert!(!rule.privileges.contains(&Delete));
                }
            }
        }
        for (command, roles) in COMMANDS {
            assert!(!roles.is_empty(), "{command} names no role");
        }
    }

    #[test]
    fn roles_prefixes_are_plain_names() {
        assert!(check_prefix("derbes").is_ok());
        assert!(check_prefix("t_123_x").is_ok());
        for bad in ["", "1abc", "Derbes", "a-b", "a\"b", "a'b", &"x".repeat(41)] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_follow_the_map() {
        let plan = Plan::from_map(&reference_map(), "derbes").unwrap();
        let support = plan
            .grants_on(Role::Support, Some("public"), "borrowers")
            .unwrap();
        assert!(
            support.contains("UPDATE (") && support.contains("first_name"),
            "{support}"
        );
        assert!(!support.contains("token_version"), "{support}");
        let oncall = plan
            .grants_on(Role::Oncall, Some("public"), "borrowers")
            .unwrap();
        assert!(
            oncall.contains("UPDATE (status, token_version)"),
            "{oncall}"
        );
        let dpo = plan
            .grants_on(Role::Dpo, Some("public"), "borrowers")
            .unwrap();
        assert!(
            dpo.starts_with("SELECT, INSERT, UPDATE, DELETE on"),
            "{dpo}"
        );
        // The audit log: read and append, never change.
        for role in Role::ALL {
            let audit = plan.grants_on(role, Some("derbes"), "audit_log").unwrap();
            assert_eq!(audit, "SELECT, INSERT on derbes.audit_log");
        }
        let sql = plan.sql();
        assert!(sql.contains("REVOKE UPDATE, DELETE, TRUNCATE ON TABLE \"derbes\".\"audit_log\""));
        assert!(!sql.contains("OWNER"), "no role is given a table");
    }

    #[test]
    fn roles_refusals_name_the_grant_and_the_role() {
        let plan = Plan::from_map(&reference_map(), "derbes").unwrap();
        let text = describe_missing(Some(&plan), "block", "table", "borrowers");
        assert!(
            text.contains("UPDATE (status, token_version) on public.borrowers"),
            "{text}"
        );
        assert!(text.contains("derbes_oncall"), "{text}");
        let text = describe_missing(None, "rectify", "table", "borrowers");
        assert!(text.contains("derbes_support"), "{text}");
    }
}
