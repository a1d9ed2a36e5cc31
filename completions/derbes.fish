# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_derbes_global_optspecs
    string join \n db= read-db= map= operator= format= v/verbose q/quiet h/help V/version
end

function __fish_derbes_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_derbes_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_derbes_using_subcommand
    set -l cmd (__fish_derbes_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c derbes -n "__fish_derbes_needs_command" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_needs_command" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_needs_command" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_needs_command" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_needs_command" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_needs_command" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "migrate" -d 'Install or upgrade derbes\' own schema (audit log, ...) in the database'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "map" -d 'Work with the data map: check it against the database, or draft one'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "audit" -d 'Read and verify the append-only, hash-chained audit trail'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "sample" -d 'Load the reference schema and a synthetic population (demo, tests, benchmarks)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "archive" -d 'Age-encrypted archives of rows the law says to keep: dump, verify, restore, expire'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "subject" -d 'Find a data subject by IIN, BIN, phone, email or id:KEY and show what is held'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "export" -d 'Export everything held about one subject as an age-encrypted bundle (access request)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "block" -d 'Block accounts at once: by identity, from a file, by IP range or device (policy 5.3, 5.7); `block list` lists the blocks'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "unblock" -d 'Restore blocked accounts on the subject\'s written application (policy 5.7)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "blocks" -d 'List blocks: the older spelling of `block list`, kept for scripts'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "completions" -d 'Print shell completions or the man pages'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "request" -d 'Subjects\' requests with their legal deadlines (Law 94-V): open, list, show, close'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "calendar" -d 'The working-day calendar deadlines are counted on: its days off and their sources'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "breach" -d 'Personal-data breaches and the deadline for telling the authorised body (policy 5.7, 6.2.6)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "rectify" -d 'Correct a subject\'s personal data on their request (policy 6.2.3, 8.2; Art. 24)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "consent" -d 'List, withdraw or grant a subject\'s consents (policy 3.1, 6.1.5; Art. 8)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "policy" -d 'Policy versions and the notice of each to the subjects: publish, objection, status (policy 10.2-10.5)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "disclosure" -d 'Transfers of a subject\'s data to third parties: record one, list them (policy 7.2)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "erase" -d 'Erase one subject (policy 8.1): archive, then delete or mask, verified before commit'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "anonymise" -d 'Depersonalise one subject, or a cohort from a retention rule, with the map\'s masking'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "purge" -d 'Delete (or archive, then delete) rows past their retention period (DPO, cron)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "roles" -d 'Least-privilege group roles for support, on-call and the DPO, from the data map'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "report" -d 'The DPO\'s report: data held against retention, requests and breaches against their deadlines, nightly jobs, blocks, archives, consents, cohorts, map coverage'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l dry-run -d 'Show which migrations would run, change nothing'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -f -a "check" -d 'Validate the data map against the live catalogue and print the delete order'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -f -a "init" -d 'Draft a data map from the database catalogue (review it before use)'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l strict -d 'Treat a link step that no foreign key backs as an error (exit 6), not a warning'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l subject-table -d 'The table that holds one row per data subject (`table` or `schema.table`); guessed from table names and foreign keys if absent' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l schema -d 'Read only this schema (repeat for several); default: every schema but the system ones' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l out -d 'Write the draft here instead of stdout (refuses to overwrite without --force)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l no-sample -d 'Guess personal columns from names and types only: sample no rows'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l force -d 'Overwrite --out if it exists'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate the data map against the live catalogue and print the delete order'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from help" -f -a "init" -d 'Draft a data map from the database catalogue (review it before use)'
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -f -a "log" -d 'List audit records, newest last'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -f -a "head" -d 'Print the chain head (the newest record\'s sequence number and hash) to keep elsewhere'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -f -a "verify" -d 'Recompute the hash chain; exits 6 naming the first bad record'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l action -d 'Only records of this action (e.g. block, export)' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l ticket -d 'Only records with this ticket' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l since -d 'Only records newer than this: a period back from now (24h, 7d, 6mo) or a date (2026-11-01)' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l limit -d 'At most this many records (the newest)' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l head -d 'A head printed earlier by `derbes audit head` (or recorded in an archive\'s manifest), as SEQ:HASH: the record\'s sequence number, a colon, its 64-hex-digit hash. Repeatable' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l sealed-from -d 'With the audit key set (DERBES_AUDIT_KEY or DERBES_AUDIT_KEY_FILE), every record must carry a seal the key opens; records before SEQ, appended before the key was set, are accepted without one' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "log" -d 'List audit records, newest last'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "head" -d 'Print the chain head (the newest record\'s sequence number and hash) to keep elsewhere'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Recompute the hash chain; exits 6 naming the first bad record'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -f -a "init" -d 'Create the reference schema and fill it with synthetic borrowers (like pgbench -i)'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l borrowers -d 'How many borrowers to generate' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l seed -d 'Seed of the generator: the same seed gives the same population' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l logs-per-borrower -d 'Average server-log rows per borrower' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l as-of -d 'Date the population is generated as of (YYYY-MM-DD); defaults to today' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l force -d 'Drop the existing tables of schema public first (only an untouched sample made by this command; confirmation on a terminal, --yes off it)'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -s y -l yes -d 'With --force: do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create the reference schema and fill it with synthetic borrowers (like pgbench -i)'
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -f -a "dump" -d 'Write selected rows to an age-encrypted archive (tar of CSV + manifest.json)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -f -a "verify" -d 'Decrypt an archive and check every member against its manifest and the catalogue'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -f -a "restore" -d 'Load an archive\'s rows back (COPY FROM), into their tables or a side schema'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -f -a "list" -d 'List catalogued archives (or only those past keep-until, which expire destroys)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -f -a "expire" -d 'Destroy archives past their keep-until: the file and its catalogue row go, an audit row records it'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l subject -d 'Every row of one subject, through the data map (IIN, BIN, phone, email or id:KEY)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l table -d 'The rows of one mapped table (all, or with --where-older-than)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l rule -d 'The expired rows of a retention rule of the data map (older than its keep)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l where-older-than -d 'With --table or --subject: only rows older than this, each table\'s rows by its time_column in the data map: a period back from now (90d, 6mo, 1y: calendar months and years, as PostgreSQL\'s interval counts them) or a date (2024-01-01, midnight in the data map\'s time zone)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l on -d 'With --table --where-older-than: the timestamp column to age rows by (default: the table\'s time_column in the data map)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l out -d 'The archive file to write (refuses to overwrite without --force)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s j -l jobs -d 'COPY streams run at once, each on its own connection, all reading one snapshot (as pg_dump -j does). Work is cut by partition, or by primary-key range for a large table without partitions. Default: the number of CPU cores, at most the number of partitions or ranges; 1 = one stream' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l keep -d 'How long the archive is kept, a calendar period (90d, 6mo, 5y); default: the archive_keep of the retention rule (--rule, or the table\'s rule with --table)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l force -d 'Overwrite --out if it exists'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s i -l identity -d 'Age identity: the private key that opens the file, an age-keygen key file (`AGE-SECRET-KEY-1...`) or an SSH private key' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s i -l identity -d 'Age identity: the private key that opens the file, an age-keygen key file (`AGE-SECRET-KEY-1...`) or an SSH private key' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l into -d 'Load into new tables of this schema for inspection (created LIKE the originals, or from the archive\'s column definitions where the database has none)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s j -l jobs -d 'Connections that load at once. 1 (the default): every row in one transaction, all or nothing. N > 1: each CSV member (a part of at most 8 MiB) in its own transaction on one of N connections, a table\'s members only after every member of the tables it references has committed; a failure leaves the members committed loaded, and the same command run again skips them and loads the rest. --dry-run always uses one transaction' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l restore-erased -d 'Restore the rows of subjects erased after the archive was made too (a legal need, named by --ticket; audited). Without it those rows are left out and counted: an erased subject stays erased'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l expired -d 'Only archives past their keep-until (what `archive expire` would destroy)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "dump" -d 'Write selected rows to an age-encrypted archive (tar of CSV + manifest.json)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Decrypt an archive and check every member against its manifest and the catalogue'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Load an archive\'s rows back (COPY FROM), into their tables or a side schema'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "list" -d 'List catalogued archives (or only those past keep-until, which expire destroys)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "expire" -d 'Destroy archives past their keep-until: the file and its catalogue row go, an audit row records it'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'One screen about a subject: identity, status, minor flag, data held per category with its date span, open loans, consents and disclosures'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from help" -f -a "show" -d 'One screen about a subject: identity, status, minor flag, data held per category with its date span, open loans, consents and disclosures'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand export" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l out -d 'Where to write the bundle (an age file; a tar file with --plaintext)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -l passphrase-file -d 'Encrypt with the passphrase on the first line of this file' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand export" -l force -d 'Replace --out if it exists'
complete -c derbes -n "__fish_derbes_using_subcommand export" -l passphrase -d 'Encrypt with a passphrase (prompted twice) for handing the bundle to the subject'
complete -c derbes -n "__fish_derbes_using_subcommand export" -l plaintext -d 'Write an unencrypted tar file (warns): personal data in clear on disk'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l from-file -d 'Read identities from a file, one per line (`#` starts a comment; `-` is stdin)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l ip -d 'Every subject with a session or log entry from this address range (CIDR)' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l device -d 'Every subject seen with this device identifier' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l since -d 'With --ip or --device: only rows newer than this: a period back from now (24h, 7d, 6mo: calendar months and years) or a date (2026-11-01, midnight in the data map\'s time zone)' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l reason -d 'Why the accounts are blocked' -r -f -a "compromised\t'Unauthorised access or a suspected breach was reported (policy 5.7)'
violation\t'The law or the policy was violated (policy 5.3)'
fraud\t'Fraud'
other\t'Anything else; say what in the ticket'"
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l max -d 'Refuse (exit 5) when more subjects than this would be blocked' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l skip-unknown -d 'Block the identities that resolve and list the others, instead of refusing'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -a "list" -d 'List blocks: who is blocked, why, by whom, when, under which ticket'
complete -c derbes -n "__fish_derbes_using_subcommand block; and not __fish_seen_subcommand_from list help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l since -d 'Only blocks made since: a period back from now (24h, 7d, 6mo) or a date (2026-11-01)' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l limit -d 'At most this many rows (the newest)' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -l active -d 'Only blocks still in force'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from help" -f -a "list" -d 'List blocks: who is blocked, why, by whom, when, under which ticket'
complete -c derbes -n "__fish_derbes_using_subcommand block; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l application -d 'Reference of the subject\'s written application asking for access back (policy 5.7)' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l since -d 'Only blocks made since: a period back from now (24h, 7d, 6mo) or a date (2026-11-01)' -r
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l limit -d 'At most this many rows (the newest)' -r
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l active -d 'Only blocks still in force'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l dir -d 'With man: write one page per command (derbes.1, derbes-archive-dump.1, ...) into this directory instead of printing derbes.1 on stdout' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -f -a "open" -d 'Record a subject\'s request and compute its due date'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -f -a "list" -d 'List open requests and breaches, soonest due first'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -f -a "show" -d 'One request, its due date and every audit row linked to it (what was done)'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -f -a "close" -d 'Close a request with its outcome; lists the audit rows linked to it'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -f -a "extend" -d 'Extend a GDPR request\'s deadline by two months (once, GDPR Art. 12(3))'
complete -c derbes -n "__fish_derbes_using_subcommand request; and not __fish_seen_subcommand_from open list show close extend help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l kind -d 'What the subject asked for' -r -f -a "access\t'What is held and how it is processed (deadline: --access-days)'
rectify\t'Change or supplement data (1 working day)'
block\t'Block data (1 working day)'
destroy\t'Destroy data (1 working day)'
withdraw-consent\t'Withdraw consent (15 working days)'
object-automated\t'Object to an automated decision (3 working days)'
transfer-notice\t'Notice of a transfer of their data (10 working days)'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l subject -d 'The subject, as IDENTITY: the spelling of earlier versions, kept for scripts' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l received -d 'The day the request reached you (YYYY-MM-DD); counting starts the day after' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l channel -d 'How it reached you' -r -f -a "email\t''
call\t''
office\t''"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l jurisdiction -d 'Whose deadlines apply' -r -f -a "kz\t'Law 94-V: working days on the Kazakh calendar'
gdpr\t'GDPR: one calendar month, extendable by two'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l access-days -d 'Working days allowed for an access request (the controller\'s setting)' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l calendar -d 'A calendar file (TOML) that replaces the built-in Kazakh rules and yearly facts (transfer orders, Kurban Ait), or lists every day off of the years it covers; see examples/kz-calendar-rules.toml for the format and sources' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from open" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l due-within -d 'Only those due within this many calendar days from today (0: due today or late)' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l overdue -d 'Only requests and breaches past their due date; exit 6 when there is any'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -l all -d 'Closed ones too'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l outcome -d 'How it ended' -r -f -a "done\t'Done as asked'
refused\t'Refused, with the reasons given to the subject'
partly\t'Partly done'
withdrawn\t'The subject withdrew it'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l reply -d 'The reference of the reply sent to the subject (a letter number, a mail\'s ticket)' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from close" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from extend" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "open" -d 'Record a subject\'s request and compute its due date'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "list" -d 'List open requests and breaches, soonest due first'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "show" -d 'One request, its due date and every audit row linked to it (what was done)'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "close" -d 'Close a request with its outcome; lists the audit rows linked to it'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "extend" -d 'Extend a GDPR request\'s deadline by two months (once, GDPR Art. 12(3))'
complete -c derbes -n "__fish_derbes_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'List a year\'s days off (holidays, days moved from a holiday on a weekend, transfers) and weekend days made working, each with its source'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -l calendar -d 'A calendar file (TOML) that replaces the built-in Kazakh rules and yearly facts (transfer orders, Kurban Ait), or lists every day off of the years it covers; see examples/kz-calendar-rules.toml for the format and sources' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from help" -f -a "show" -d 'List a year\'s days off (holidays, days moved from a holiday on a weekend, transfers) and weekend days made working, each with its source'
complete -c derbes -n "__fish_derbes_using_subcommand calendar; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -f -a "open" -d 'Record a breach and compute when the authorised body must be told'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -f -a "list" -d 'List open breaches (or all), soonest deadline first, with the blocks made for them'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -f -a "show" -d 'One breach and every audit row linked to it'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -f -a "close" -d 'Record that the authorised body was told, and close the breach'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and not __fish_seen_subcommand_from open list show close help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l discovered -d 'When it was discovered: 2026-11-27T09:30:00+05:00, or 2026-11-27T09:30 (also \'2026-11-27 09:30\') in the data map\'s time zone (default Asia/Almaty)' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l summary -d 'What happened, as a reference-like line (kept forever: no personal data)' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l subjects -d 'The subjects concerned: a file of identities, one a line (as `block --from-file`)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l calendar -d 'A calendar file (TOML) that replaces the built-in Kazakh rules and yearly facts (transfer orders, Kurban Ait), or lists every day off of the years it covers; see examples/kz-calendar-rules.toml for the format and sources' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from open" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l overdue -d 'Only breaches past their notification deadline; exit 6 when there is any'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -l all -d 'Closed ones too'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l notified-at -d 'When the authorised body was told (as --discovered)' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l reference -d 'The notification\'s reference (outgoing letter or portal number)' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from close" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from help" -f -a "open" -d 'Record a breach and compute when the authorised body must be told'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from help" -f -a "list" -d 'List open breaches (or all), soonest deadline first, with the blocks made for them'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from help" -f -a "show" -d 'One breach and every audit row linked to it'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from help" -f -a "close" -d 'Record that the authorised body was told, and close the breach'
complete -c derbes -n "__fish_derbes_using_subcommand breach; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l set -d 'A correction: COLUMN=VALUE for a column of the subject table, or TABLE.COLUMN=VALUE for a mapped table (a 1:n table needs --row when the subject has several rows there). An empty VALUE empties a nullable column. Repeat for several columns' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l row -d 'The primary key of the row to change in a linked table (an address, a contact person), when the subject has several (the error lists them)' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l evidence -d 'Reference of the document proving the correct value (a scan, a letter), recorded in the audit row: a reference, never the value' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l audit-key-file -d 'File holding the key of the audit row\'s keyed hashes (at least 32 random bytes as hex, base64 or raw; make one with `openssl rand -hex 32`). Or set DERBES_AUDIT_KEY to the key itself. Keep it off the database server' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand rectify" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -f -a "list" -d 'The subject\'s consents from the data map\'s consent ledger, oldest first, and any open loan that holds a withdrawal back'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -f -a "withdraw" -d 'Record the withdrawal of consent to one purpose (Art. 8)'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -f -a "grant" -d 'Record a consent to one purpose, with the document the subject signed'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and not __fish_seen_subcommand_from list withdraw grant help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l purpose -d 'The purpose of processing, as named under [purposes] in the data map' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l document -d 'Reference of the subject\'s written application or signed consent' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from withdraw" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l purpose -d 'The purpose of processing, as named under [purposes] in the data map' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l document -d 'Reference of the subject\'s written application or signed consent' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from grant" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from help" -f -a "list" -d 'The subject\'s consents from the data map\'s consent ledger, oldest first, and any open loan that holds a withdrawal back'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from help" -f -a "withdraw" -d 'Record the withdrawal of consent to one purpose (Art. 8)'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from help" -f -a "grant" -d 'Record a consent to one purpose, with the document the subject signed'
complete -c derbes -n "__fish_derbes_using_subcommand consent; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -f -a "publish" -d 'Record a new policy version and queue a notice of it for every active subject'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -f -a "objection" -d 'Record a subject\'s written objection to a policy version (policy 10.4)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -f -a "status" -d 'Count the notices of a version: notified, objected, silent (policy 10.5)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and not __fish_seen_subcommand_from publish objection status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l effective -d 'The date the version takes effect (YYYY-MM-DD, today or later): the end of the notice period, after which silence counts as consent' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l text -d 'The published text of the policy; its SHA-256 is recorded (required when the versions table has a text_sha256 column in the data map)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from publish" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l version -d 'The policy version objected to' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l document -d 'Reference of the written objection (the email or letter, e.g. MAIL-2027-0042)' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from objection" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "publish" -d 'Record a new policy version and queue a notice of it for every active subject'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "objection" -d 'Record a subject\'s written objection to a policy version (policy 10.4)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "status" -d 'Count the notices of a version: notified, objected, silent (policy 10.5)'
complete -c derbes -n "__fish_derbes_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -f -a "record" -d 'Record that a subject\'s data was handed to a third party (policy 7.2)'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -f -a "list" -d 'List transfers: one subject\'s, or everyone\'s newest first'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and not __fish_seen_subcommand_from record list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l recipient -d 'Who received the data: the organisation\'s name (kept in the audit log, so no IIN, BIN, phone or email in it)' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l basis -d 'On what ground' -r -f -a "consent\t'The subject consented to it for a service (7.2.1)'
law\t'The law requires it (7.2.2), e.g. reports to a credit bureau'
sale\t'The resource was sold; the buyer takes over the policy\'s duties (7.2.3)'"
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l purpose -d 'What for: a purpose of the data map\'s [purposes] (e.g. services)' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l categories -d 'The categories handed over, comma-separated (name,iin,microcredit)' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l at -d 'When the data was handed over: a date (midnight in the map\'s time zone), a timestamp, or a period back from now (2d); default now' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from record" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l since -d 'Only transfers since: a period back from now (30d) or a date (2026-11-01)' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l limit -d 'At most this many rows (the newest)' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from help" -f -a "record" -d 'Record that a subject\'s data was handed to a third party (policy 7.2)'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from help" -f -a "list" -d 'List transfers: one subject\'s, or everyone\'s newest first'
complete -c derbes -n "__fish_derbes_using_subcommand disclosure; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l archive-to -d 'Age recipient of the archive of the subject\'s rows (`age1...` or an SSH public key); repeatable' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l archive-out -d 'Where to write the archive; default ./derbes-erase-<table>-<key>-<time>.age' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l keep -d 'How long the archive is kept (5y); default the longest archive_keep of the map\'s rules' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l key-file -d 'File holding the masking key of hmac and fake:deterministic (else DERBES_MASK_KEY): at least 32 random bytes as base64, hex or raw (make one with `openssl rand -base64 32 > mask.key`); never printed' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l again -d 'Erase a subject the erasure ledger says was erased before (rows that arrived since, e.g. a returning customer); without it such a subject is reported as erased already (exit 3) and nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand erase" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l rule -d 'A retention rule: its tables\' rows older than the rule\'s keep period (by each table\'s time column) are the cohort' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l key-file -d 'File holding the masking key of hmac and fake:deterministic (else DERBES_MASK_KEY): at least 32 random bytes as base64, hex or raw (make one with `openssl rand -base64 32 > mask.key`); never printed' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l batch-size -d 'Keys per batch (one short transaction each) of a cohort: a number, or `auto` for batches of about 100 ms each' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l lock-timeout -d 'How long one batch waits for a row lock before giving up (lock_timeout)' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -s j -l jobs -d 'Streams that mask a cohort at once (--rule), each its own key range on its own connection: faster where the server has cores to spare, and a writer still waits for one batch at most. A resumed run continues as it was cut' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l again -d 'Mask a subject anonymised before once more (after the data map gained columns): hmac pseudonyms are hashed again and fakes redrawn. Without it a second anonymisation of the same subject is refused (exit 5)'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l report -d 'After the run, print k: the smallest group of subjects sharing the map\'s quasi-identifiers (columns with quasi_identifier = true)'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand anonymise" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l rule -d 'Only this retention rule (repeatable); default every rule some table names' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l batch-size -d 'Keys per batch (one short transaction each): a number, or `auto` for batches of about 100 ms each' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l pause -d 'Sleep between batches, leaving the server to other work: 100ms, 1s' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l max-duration -d 'Stop cleanly between batches after this long (30m, 2h); the next run resumes' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l as-of -d 'Compute the cut-offs as of this date (2026-11-01, midnight in the data map\'s time zone) or time (RFC 3339) instead of now' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l lock-timeout -d 'How long a batch waits for a row lock before it fails (lock_timeout)' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l archive-dir -d 'Directory for the archives of archive-then-delete rules (one file per batch or expired partition, catalogued in derbes.archives)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s j -l jobs -d 'COPY streams, each on its own connection in one snapshot, that archive an expired partition before it is dropped (cut by primary-key range). Default: the number of CPU cores. A batch\'s archive is one stream: it holds exactly the keys the batch then deletes. Given, it is also the streams that delete a delete rule\'s due rows at once, each its own key range on its own connection (one stream unless given); a resumed run continues as it was cut' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l key-file -d 'File holding the masking key of `hmac` columns, for rules whose action is `anonymise` (else DERBES_MASK_KEY): at least 32 random bytes as base64, hex or raw; never printed' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l request -d 'The subject\'s request this change answers (the id `derbes request open` printed): recorded in the audit row, so `request close` lists it. Exit 3 when there is no such request, 5 when it is closed' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l breach -d 'The breach this change is made for (the id `derbes breach open` printed), e.g. blocking the accounts it exposed: recorded in the audit row' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l prefix -d 'Role name prefix: the roles are PREFIX_support, PREFIX_oncall, PREFIX_dpo' -r
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand roles" -l print-sql -d 'Print the SQL that creates the roles and their grants (nothing is run)'
complete -c derbes -n "__fish_derbes_using_subcommand roles" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand roles" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand roles" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand roles" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand report" -l since -d 'First day of the period, YYYY-MM-DD (default: 89 days before --until)' -r
complete -c derbes -n "__fish_derbes_using_subcommand report" -l until -d 'Last day of the period, YYYY-MM-DD (default: today in the data map\'s time zone)' -r
complete -c derbes -n "__fish_derbes_using_subcommand report" -l lang -d 'Language of the page\'s labels and legal bases' -r -f -a "kk\t'Kazakh'
ru\t'Russian'
en\t'English'"
complete -c derbes -n "__fish_derbes_using_subcommand report" -s o -l out -d 'Where to write the page (required unless --format json, which prints to stdout without it). An existing file is replaced' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand report" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand report" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand report" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand report" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand report" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand report" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand report" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand report" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "migrate" -d 'Install or upgrade derbes\' own schema (audit log, ...) in the database'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "map" -d 'Work with the data map: check it against the database, or draft one'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "audit" -d 'Read and verify the append-only, hash-chained audit trail'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "sample" -d 'Load the reference schema and a synthetic population (demo, tests, benchmarks)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "archive" -d 'Age-encrypted archives of rows the law says to keep: dump, verify, restore, expire'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "subject" -d 'Find a data subject by IIN, BIN, phone, email or id:KEY and show what is held'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "export" -d 'Export everything held about one subject as an age-encrypted bundle (access request)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "block" -d 'Block accounts at once: by identity, from a file, by IP range or device (policy 5.3, 5.7); `block list` lists the blocks'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "unblock" -d 'Restore blocked accounts on the subject\'s written application (policy 5.7)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "blocks" -d 'List blocks: the older spelling of `block list`, kept for scripts'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "completions" -d 'Print shell completions or the man pages'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "request" -d 'Subjects\' requests with their legal deadlines (Law 94-V): open, list, show, close'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "calendar" -d 'The working-day calendar deadlines are counted on: its days off and their sources'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "breach" -d 'Personal-data breaches and the deadline for telling the authorised body (policy 5.7, 6.2.6)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "rectify" -d 'Correct a subject\'s personal data on their request (policy 6.2.3, 8.2; Art. 24)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "consent" -d 'List, withdraw or grant a subject\'s consents (policy 3.1, 6.1.5; Art. 8)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "policy" -d 'Policy versions and the notice of each to the subjects: publish, objection, status (policy 10.2-10.5)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "disclosure" -d 'Transfers of a subject\'s data to third parties: record one, list them (policy 7.2)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "erase" -d 'Erase one subject (policy 8.1): archive, then delete or mask, verified before commit'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "anonymise" -d 'Depersonalise one subject, or a cohort from a retention rule, with the map\'s masking'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "purge" -d 'Delete (or archive, then delete) rows past their retention period (DPO, cron)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "roles" -d 'Least-privilege group roles for support, on-call and the DPO, from the data map'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "report" -d 'The DPO\'s report: data held against retention, requests and breaches against their deadlines, nightly jobs, blocks, archives, consents, cohorts, map coverage'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions request calendar breach rectify consent policy disclosure erase anonymise purge roles report help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from map" -f -a "check" -d 'Validate the data map against the live catalogue and print the delete order'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from map" -f -a "init" -d 'Draft a data map from the database catalogue (review it before use)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "log" -d 'List audit records, newest last'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "head" -d 'Print the chain head (the newest record\'s sequence number and hash) to keep elsewhere'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Recompute the hash chain; exits 6 naming the first bad record'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from sample" -f -a "init" -d 'Create the reference schema and fill it with synthetic borrowers (like pgbench -i)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "dump" -d 'Write selected rows to an age-encrypted archive (tar of CSV + manifest.json)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "verify" -d 'Decrypt an archive and check every member against its manifest and the catalogue'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "restore" -d 'Load an archive\'s rows back (COPY FROM), into their tables or a side schema'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "list" -d 'List catalogued archives (or only those past keep-until, which expire destroys)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "expire" -d 'Destroy archives past their keep-until: the file and its catalogue row go, an audit row records it'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from subject" -f -a "show" -d 'One screen about a subject: identity, status, minor flag, data held per category with its date span, open loans, consents and disclosures'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from block" -f -a "list" -d 'List blocks: who is blocked, why, by whom, when, under which ticket'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "open" -d 'Record a subject\'s request and compute its due date'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "list" -d 'List open requests and breaches, soonest due first'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "show" -d 'One request, its due date and every audit row linked to it (what was done)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "close" -d 'Close a request with its outcome; lists the audit rows linked to it'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "extend" -d 'Extend a GDPR request\'s deadline by two months (once, GDPR Art. 12(3))'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from calendar" -f -a "show" -d 'List a year\'s days off (holidays, days moved from a holiday on a weekend, transfers) and weekend days made working, each with its source'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from breach" -f -a "open" -d 'Record a breach and compute when the authorised body must be told'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from breach" -f -a "list" -d 'List open breaches (or all), soonest deadline first, with the blocks made for them'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from breach" -f -a "show" -d 'One breach and every audit row linked to it'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from breach" -f -a "close" -d 'Record that the authorised body was told, and close the breach'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from consent" -f -a "list" -d 'The subject\'s consents from the data map\'s consent ledger, oldest first, and any open loan that holds a withdrawal back'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from consent" -f -a "withdraw" -d 'Record the withdrawal of consent to one purpose (Art. 8)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from consent" -f -a "grant" -d 'Record a consent to one purpose, with the document the subject signed'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "publish" -d 'Record a new policy version and queue a notice of it for every active subject'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "objection" -d 'Record a subject\'s written objection to a policy version (policy 10.4)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "status" -d 'Count the notices of a version: notified, objected, silent (policy 10.5)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from disclosure" -f -a "record" -d 'Record that a subject\'s data was handed to a third party (policy 7.2)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and __fish_seen_subcommand_from disclosure" -f -a "list" -d 'List transfers: one subject\'s, or everyone\'s newest first'
