//! Drafts of catalogues built in memory (no database).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::sample::{ColumnCounts, Samples, TableSample};
use super::*;
use crate::map::schema::{Catalog, CatalogTable, ForeignKey};
use crate::map::DataMap;

fn name(qualified: &str) -> TableName {
    let (schema, table) = qualified.split_once('.').unwrap_or(("public", qualified));
    TableName {
        schema: schema.into(),
        table: table.into(),
    }
}

struct Builder(Catalog);

impl Builder {
    fn new() -> Builder {
        Builder(Catalog::default())
    }

    /// `columns` as "name type" pairs; the first `pk` columns are the primary key.
    fn table(mut self, qualified: &str, pk: usize, columns: &[&str]) -> Builder {
        let t = name(qualified);
        let columns: Vec<(String, String)> = columns
            .iter()
            .map(|c| {
                let (n, ty) = c.split_once(' ').unwrap();
                (n.to_owned(), ty.to_owned())
            })
            .collect();
        let primary_key: Vec<String> = columns.iter().take(pk).map(|(c, _)| c.clone()).collect();
        self.0.tables.insert(
            t.clone(),
            CatalogTable {
                name: t,
                columns,
                primary_key: primary_key.clone(),
                indexes: Vec::new(),
                unique_keys: vec![primary_key],
                index_definitions: Vec::new(),
                partitioned: false,
                partitions: Vec::new(),
            },
        );
        self
    }

    fn fk(mut self, child: &str, columns: &[&str], parent: &str, refs: &[&str]) -> Builder {
        self.0.foreign_keys.push(ForeignKey {
            child: name(child),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            parent: name(parent),
            ref_columns: refs.iter().map(|c| (*c).to_owned()).collect(),
            on_partitions: false,
        });
        self
    }

    fn draft(&self, samples: &Samples) -> Draft {
        let scope: BTreeSet<TableName> = self.0.tables.keys().cloned().collect();
        draft_map(&self.0, &scope, None, samples, true).unwrap()
    }
}

fn rental() -> Builder {
    Builder::new()
        .table("country", 1, &["country_id integer", "country text"])
        .table(
            "city",
            1,
            &["city_id integer", "city text", "country_id integer"],
        )
        .table(
            "address",
            1,
            &[
                "address_id integer",
                "address text",
                "district text",
                "city_id integer",
                "postal_code text",
                "phone text",
            ],
        )
        .table(
            "store",
            1,
            &[
                "store_id integer",
                "manager_staff_id integer",
                "address_id integer",
            ],
        )
        .table(
            "staff",
            1,
            &[
                "staff_id integer",
                "first_name text",
                "last_name text",
                "email text",
                "address_id integer",
                "store_id integer",
            ],
        )
        .table(
            "customer",
            1,
            &[
                "customer_id integer",
                "store_id integer",
                "first_name text",
                "last_name text",
                "email text",
                "address_id integer",
                "create_date date",
            ],
        )
        .table("film", 1, &["film_id integer", "title text"])
        .table(
            "inventory",
            1,
            &[
                "inventory_id integer",
                "film_id integer",
                "store_id integer",
            ],
        )
        .table(
            "rental",
            1,
            &[
                "rental_id integer",
                "rental_date timestamp with time zone",
                "inventory_id integer",
                "customer_id integer",
                "staff_id integer",
            ],
        )
        .table(
            "payment",
            1,
            &[
                "payment_id integer",
                "customer_id integer",
                "staff_id integer",
                "rental_id integer",
                "amount numeric(5,2)",
                "payment_date timestamp with time zone",
            ],
        )
        .fk("city", &["country_id"], "country", &["country_id"])
        .fk("address", &["city_id"], "city", &["city_id"])
        .fk("store", &["address_id"], "address", &["address_id"])
        .fk("store", &["manager_staff_id"], "staff", &["staff_id"])
        .fk("staff", &["address_id"], "address", &["address_id"])
        .fk("staff", &["store_id"], "store", &["store_id"])
        .fk("customer", &["address_id"], "address", &["address_id"])
        .fk("customer", &["store_id"], "store", &["store_id"])
        .fk("inventory", &["film_id"], "film", &["film_id"])
        .fk("inventory", &["store_id"], "store", &["store_id"])
        .fk("rental", &["inventory_id"], "inventory", &["inventory_id"])
        .fk("rental", &["customer_id"], "customer", &["customer_id"])
        .fk("rental", &["staff_id"], "staff", &["staff_id"])
        .fk("payment", &["customer_id"], "customer", &["customer_id"])
        .fk("payment", &["staff_id"], "staff", &["staff_id"])
        .fk("payment", &["rental_id"], "rental", &["rental_id"])
}

fn parses(draft: &Draft) -> DataMap {
    DataMap::parse(&draft.text, Path::new("draft.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{}", draft.text))
}

#[test]
fn the_customer_not_the_address_is_the_subject() {
    let draft = rental().draft(&Samples::default());
    let text = &draft.text;
    assert_eq!(draft.subject, name("customer"), "{text}");
    assert!(text.contains("# Subject table (a guess): customer: its name reads as a data subject (\"customer\") and 2 tables reference it."), "{text}");
    assert!(
        text.contains(
            "[tables.address]\n# reverse link: customer.address_id points at this table; a row may be shared by several subjects (also referenced by staff, store)\nlink = { column = \"address_id\", via = \"customer\", via_column = \"address_id\" }"
        ),
        "{text}"
    );
    assert!(
        text.contains("[tables.rental]\nlink = { column = \"customer_id\" }"),
        "{text}"
    );
    assert!(
        text.contains("[tables.payment]\nlink = { column = \"customer_id\" }"),
        "{text}"
    );
    assert!(text.contains("phone = { category = \"phone\""), "{text}");
    // Lookups, other parties and the shop's goods stay out, each with its reason.
    for left in ["city", "country", "film", "inventory", "staff", "store"] {
        assert!(
            !text.contains(&format!("[tables.{left}]")),
            "{left}: {text}"
        );
        assert!(text.contains(&format!("# - {left}")), "{left}: {text}");
    }
    assert!(text.contains("# - staff (personal-looking columns: first_name, last_name, email): payment.staff_id points at it, but so does store"), "{text}");
    assert!(text.contains("# - city (personal-looking columns: city): address points at it, and address is itself reached by a reverse link"), "{text}");
    assert!(
        text.contains("# - film: no foreign key connects it to customer"),
        "{text}"
    );
    let map = parses(&draft);
    assert_eq!(map.subject.table, "customer");
    assert!(map.subject.identities.iter().any(|i| i.column == "email"));
    assert_eq!(map.tables.len(), 4);
}

#[test]
fn without_a_subject_name_lookups_are_not_picked() {
    let draft = rental()
        .table(
            "customer",
            1,
            &[
                "customer_id integer",
                "first_name text",
                "email text",
                "address_id integer",
            ],
        )
        .draft(&Samples::default());
    assert_eq!(draft.subject, name("customer"));
    let b = Builder::new()
        .table(
            "address",
            1,
            &["address_id integer", "address text", "phone text"],
        )
        .table(
            "renter",
            1,
            &["renter_id integer", "full_name text", "address_id integer"],
        )
        .table("note", 1, &["note_id integer", "renter_id integer"])
        .table("office", 1, &["office_id integer", "address_id integer"])
        .fk("renter", &["address_id"], "address", &["address_id"])
        .fk("office", &["address_id"], "address", &["address_id"])
        .fk("note", &["renter_id"], "renter", &["renter_id"]);
    let draft = b.draft(&Samples::default());
    assert_eq!(draft.subject, name("renter"), "{}", draft.text);
    assert!(
        draft.text.contains(
            "no table is named like a data subject; it holds identifying columns (full_name)"
        ),
        "{}",
        draft.text
    );
}

#[test]
fn a_second_schema_is_named_schema_dot_table_and_composite_keys_are_arrays() {
    let b = Builder::new()
        .table(
            "crm.klienty",
            1,
            &[
                "klient_id bigint",
                "familiya text",
                "imya text",
                "telefon text",
                "data_rozhdeniya date",
            ],
        )
        .table(
            "sales.orders",
            2,
            &[
                "shop_id integer",
                "order_no integer",
                "klient_id bigint",
                "placed_at timestamp with time zone",
            ],
        )
        .table(
            "sales.order_lines",
            1,
            &[
                "line_id integer",
                "shop_id integer",
                "order_no integer",
                "sku text",
            ],
        )
        .fk(
            "sales.orders",
            &["klient_id"],
            "crm.klienty",
            &["klient_id"],
        )
        .fk(
            "sales.order_lines",
            &["shop_id", "order_no"],
            "sales.orders",
            &["shop_id", "order_no"],
        );
    let draft = b.draft(&Samples::default());
    let text = &draft.text;
    assert!(text.contains("schema = \"crm\""), "{text}");
    assert!(text.contains("table = \"klienty\""), "{text}");
    assert!(text.contains("birth_date = \"data_rozhdeniya\""), "{text}");
    assert!(text.contains("[tables.\"sales.orders\"]\nlink = { column = \"klient_id\" }\ntime_column = \"placed_at\""), "{text}");
    assert!(
        text.contains("[tables.\"sales.order_lines\"]\nlink = { column = [\"shop_id\", \"order_no\"], via = \"sales.orders\", via_column = [\"shop_id\", \"order_no\"] }"),
        "{text}"
    );
    for column in ["familiya", "imya"] {
        assert!(
            text.contains(&format!("{column} = {{ category = \"name\"")),
            "{text}"
        );
    }
    assert!(
        text.contains("kind = \"phone\"\ncolumn = \"telefon\""),
        "{text}"
    );
    let map = parses(&draft);
    let lines = map.link_path("sales.order_lines").unwrap();
    assert_eq!(lines[0].columns, ["shop_id", "order_no"]);
    assert_eq!(lines[1].to, "klienty");
}

#[test]
fn sampled_iins_make_an_identity_whatever_the_column_is_called() {
    let b = Builder::new()
        .table(
            "clients",
            1,
            &[
                "client_no integer",
                "tax_code character varying(12)",
                "note text",
            ],
        )
        .table("orders", 1, &["order_id integer", "client_ref integer"])
        .fk("orders", &["client_ref"], "clients", &["client_no"]);
    let mut counts = ColumnCounts::default();
    for _ in 0..3 {
        counts.add("061211600012");
    }
    let mut note = ColumnCounts::default();
    note.add("hello");
    let mut samples = Samples::default();
    samples.tables.insert(
        name("clients"),
        TableSample {
            rows: 3,
            columns: [("tax_code".to_owned(), counts), ("note".to_owned(), note)].into(),
            skipped: None,
        },
    );
    let draft = b.draft(&samples);
    let text = &draft.text;
    assert!(
        text.contains("# found by sampling: 3 of 3 sampled values are valid IINs (check digit verified)\n[[subject.identities]]\nkind = \"iin\"\ncolumn = \"tax_code\""),
        "{text}"
    );
    assert!(text.contains("tax_code = { category = \"iin\""), "{text}");
    assert!(!text.contains("061211600012"), "{text}");
    let map = parses(&draft);
    assert_eq!(map.subject.identities.len(), 1);
}

#[test]
fn the_subject_can_be_named() {
    let b = rental();
    let scope: BTreeSet<TableName> = b.0.tables.keys().cloned().collect();
    let draft = draft_map(&b.0, &scope, Some("staff"), &Samples::default(), false).unwrap();
    assert_eq!(draft.subject, name("staff"));
    assert!(
        draft
            .text
            .contains("# Subject table: staff (named with --subject-table)."),
        "{}",
        draft.text
    );
    let err = draft_map(&b.0, &scope, Some("nope"), &Samples::default(), false).unwrap_err();
    assert!(err.contains("\"nope\" does not exist"), "{err}");
    let _ = BTreeMap::<u8, u8>::new();
}

#[test]
fn every_problem_of_a_draft_is_listed_at_once() {
    let b = rental();
    let draft = b.draft(&Samples::default());
    assert_eq!(check_draft(&draft.text, &b.0), Vec::<String>::new());
    let broken = draft
        .text
        .replace(
            "first_name = { category = \"name\"",
            "first_name = { category = \"birth_date\"",
        )
        .replace(
            "district = { category = \"address\"",
            "district = { category = \"birth_date\"",
        );
    let problems = check_draft(&broken, &b.0);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("first_name") || problems[1].contains("first_name"));
}
