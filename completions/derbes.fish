# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_derbes_global_optspecs
    string join \n db= read-db= map= format= operator= v/verbose q/quiet h/help V/version
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
complete -c derbes -n "__fish_derbes_needs_command" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_needs_command" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_needs_command" -f -a "block" -d 'Block accounts at once: by identity, from a file, by IP range or device (policy 5.3, 5.7)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "unblock" -d 'Restore blocked accounts on the subject\'s written application (policy 5.7)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "blocks" -d 'List blocks: who is blocked, why, by whom, when, under which ticket'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "completions" -d 'Print shell completions or the man pages'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "purge" -d 'Delete (or archive, then delete) rows past their retention period (DPO, cron)'
complete -c derbes -n "__fish_derbes_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -l dry-run -d 'Show which migrations would run, change nothing'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand map; and not __fish_seen_subcommand_from check init help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from check" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand map; and __fish_seen_subcommand_from init" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and not __fish_seen_subcommand_from log head verify help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from head" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l head -d 'A head printed earlier by `derbes audit head` (or recorded in an archive\'s manifest), as SEQ:HASH: the record\'s sequence number, a colon, its 64-hex-digit hash. Repeatable' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand audit; and __fish_seen_subcommand_from verify" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand sample; and not __fish_seen_subcommand_from init help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand sample; and __fish_seen_subcommand_from init" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and not __fish_seen_subcommand_from dump verify restore list expire help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l keep -d 'How long the archive is kept, a calendar period (90d, 6mo, 5y); default: the archive_keep of the retention rule (--rule, or the table\'s rule with --table)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from dump" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s i -l identity -d 'Age identity: the private key that opens the file, an age-keygen key file (`AGE-SECRET-KEY-1...`) or an SSH private key' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l into -d 'Load into new tables of this schema for inspection (created LIKE the originals, or from the archive\'s column definitions where the database has none)' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -l expired -d 'Only archives past their keep-until (what `archive expire` would destroy)'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand archive; and __fish_seen_subcommand_from expire" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'One screen about a subject: identity, status, minor flag, data held per category with its date span, open loans, consents and disclosures'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from help" -f -a "show" -d 'One screen about a subject: identity, status, minor flag, data held per category with its date span, open loans, consents and disclosures'
complete -c derbes -n "__fish_derbes_using_subcommand subject; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c derbes -n "__fish_derbes_using_subcommand export" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l out -d 'Where to write the bundle (an age file; a tar file with --plaintext)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -l passphrase-file -d 'Encrypt with the passphrase on the first line of this file' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand export" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand export" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand export" -l force -d 'Replace --out if it exists'
complete -c derbes -n "__fish_derbes_using_subcommand export" -l passphrase -d 'Encrypt with a passphrase (prompted twice) for handing the bundle to the subject'
complete -c derbes -n "__fish_derbes_using_subcommand export" -l plaintext -d 'Write an unencrypted tar file (warns): personal data in clear on disk'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand export" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand block" -l from-file -d 'Read identities from a file, one per line (`#` starts a comment; `-` is stdin)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand block" -l ip -d 'Every subject with a session or log entry from this address range (CIDR)' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l device -d 'Every subject seen with this device identifier' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l since -d 'With --ip or --device: only rows newer than this: a period back from now (24h, 7d, 6mo: calendar months and years) or a date (2026-11-01, midnight in the data map\'s time zone)' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l reason -d 'Why the accounts are blocked' -r -f -a "compromised\t'Unauthorised access or a suspected breach was reported (policy 5.7)'
violation\t'The law or the policy was violated (policy 5.3)'
fraud\t'Fraud'
other\t'Anything else; say what in the ticket'"
complete -c derbes -n "__fish_derbes_using_subcommand block" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l max -d 'Refuse (exit 5) when more subjects than this would be blocked' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand block" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand block" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand block" -l skip-unknown -d 'Block the identities that resolve and list the others, instead of refusing'
complete -c derbes -n "__fish_derbes_using_subcommand block" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand block" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand block" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand block" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand block" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand block" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l application -d 'Reference of the subject\'s written application asking for access back (policy 5.7)' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l ticket -d 'The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the audit row (and the file\'s manifest): a reference, never a note about a person' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand unblock" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
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
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -l active -d 'Only blocks still in force'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand blocks" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l dir -d 'With man: write one page per command (derbes.1, derbes-archive-dump.1, ...) into this directory instead of printing derbes.1 on stdout' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand completions" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand completions" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l rule -d 'Only this retention rule (repeatable); default every rule some table names' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l batch-size -d 'Rows per batch (one short transaction each)' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l pause -d 'Sleep between batches, leaving the server to other work: 100ms, 1s' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l max-duration -d 'Stop cleanly between batches after this long (30m, 2h); the next run resumes' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l as-of -d 'Compute the cut-offs as of this date (2026-11-01, midnight in the data map\'s time zone) or time (RFC 3339) instead of now' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l lock-timeout -d 'How long a batch waits for a row lock before it fails (lock_timeout)' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l archive-dir -d 'Directory for the archives of archive-then-delete rules (one file per batch or expired partition, catalogued in derbes.archives)' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s r -l recipient -d 'Age recipient: the public key that can open the file, `age1...` (from age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`; repeat for several' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l recipients-file -d 'A file of age recipients, one a line (`#` starts a comment); repeatable' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l ticket -d 'The reference the audit rows are recorded under (a change or schedule id)' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l db -d 'Database to work on (URL or libpq keyword string); writes go here' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l read-db -d 'Replica for reads that need not be fresh (exports); defaults to --db' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l map -d 'The data map: where personal data lives in this database' -r -F
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l format -d 'Output format. Default: a table on a terminal; off a terminal (a pipe, a file, cron) tab-separated text: one header line, one line per row, notes as lines starting with `# `, no box drawing and no colour' -r -f -a "table\t'A table for people (box drawing); the default on a terminal'
tsv\t'Tab-separated text, notes as `# ` lines; the default off a terminal'
json\t'One JSON document on stdout'
csv\t'CSV for spreadsheets; notes as `# ` lines after the rows'"
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l operator -d 'Who is running this; recorded in every audit row. Defaults to the OS user' -r
complete -c derbes -n "__fish_derbes_using_subcommand purge" -l dry-run -d 'Do everything, report the counts, then roll back: nothing changes'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s y -l yes -d 'Do not ask for confirmation (needed when not on a terminal)'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s v -l verbose -d 'More diagnostics on stderr (-v, -vv). Never prints personal data'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s q -l quiet -d 'Only errors on stderr'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c derbes -n "__fish_derbes_using_subcommand purge" -s V -l version -d 'Print version'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "migrate" -d 'Install or upgrade derbes\' own schema (audit log, ...) in the database'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "map" -d 'Work with the data map: check it against the database, or draft one'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "audit" -d 'Read and verify the append-only, hash-chained audit trail'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "sample" -d 'Load the reference schema and a synthetic population (demo, tests, benchmarks)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "archive" -d 'Age-encrypted archives of rows the law says to keep: dump, verify, restore, expire'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "subject" -d 'Find a data subject by IIN, BIN, phone, email or id:KEY and show what is held'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "export" -d 'Export everything held about one subject as an age-encrypted bundle (access request)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "block" -d 'Block accounts at once: by identity, from a file, by IP range or device (policy 5.3, 5.7)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "unblock" -d 'Restore blocked accounts on the subject\'s written application (policy 5.7)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "blocks" -d 'List blocks: who is blocked, why, by whom, when, under which ticket'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "completions" -d 'Print shell completions or the man pages'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "purge" -d 'Delete (or archive, then delete) rows past their retention period (DPO, cron)'
complete -c derbes -n "__fish_derbes_using_subcommand help; and not __fish_seen_subcommand_from migrate map audit sample archive subject export block unblock blocks completions purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
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
