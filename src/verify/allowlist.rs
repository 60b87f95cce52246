//! A credential's IP allowlist: the CIDR ranges a key may be used from. Parsed from
//! what a person types (the app page's textarea, the API's list), stored as one
//! canonical line in `credentials.allowed_ips`, and checked on the verify path
//! against the client address the gateway reports.
//!
//! Rules: entries are separated by commas, spaces or newlines; a bare address is a
//! single host (/32 or /128); an entry with bits set after its prefix
//! (`10.0.0.1/8`) is refused with the network it probably means, rather than
//! silently widened to it; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is IPv4, in the list
//! and in the client's address. The stored list is sorted and free of duplicates;
//! empty means any address.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};

/// The most ranges one credential may hold.
pub const MAX_ENTRIES: usize = 100;

/// How many bad entries one error message names before summing up the rest.
const NAMED_PROBLEMS: usize = 3;

/// Parses a list typed by a person into sorted, distinct networks. Every bad entry
/// is reported (the first few by name) in sentences meant for that person.
pub fn parse(input: &str) -> Result<Vec<IpNet>, String> {
    let mut nets = Vec::new();
    let mut problems = Vec::new();
    for entry in input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        match parse_entry(entry) {
            Ok(net) => nets.push(net),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        let mut message = problems[..problems.len().min(NAMED_PROBLEMS)].join(" ");
        if problems.len() > NAMED_PROBLEMS {
            let more = problems.len() - NAMED_PROBLEMS;
            message.push_str(&format!(
                " {} not valid either.",
                crate::wording::count_of(more, "more entry is", "more entries are")
            ));
        }
        return Err(message);
    }
    nets.sort();
    nets.dedup();
    if nets.len() > MAX_ENTRIES {
        return Err(format!(
            "A key can be restricted to at most {MAX_ENTRIES} IP ranges; this list has {}. \
             Combine neighbouring addresses into wider ranges.",
            nets.len()
        ));
    }
    Ok(nets)
}

/// One entry: an address (a single host) or a network in CIDR notation.
fn parse_entry(entry: &str) -> Result<IpNet, String> {
    let shown = quoted(entry);
    let example = "Write an address such as 203.0.113.7 or 2001:db8::1, or a range such as \
                   10.0.0.0/8 or 2001:db8::/32.";
    let Some((addr, prefix)) = entry.split_once('/') else {
        return match entry.parse::<IpAddr>() {
            Ok(ip) => Ok(mapped_to_v4(IpNet::from(ip))),
            Err(_) => Err(format!("{shown} is not an IP address or range. {example}")),
        };
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Err(format!(
            "{shown} is not an IP range: {} is not an IP address. {example}",
            quoted(addr)
        ));
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let net = prefix
        .parse::<u8>()
        .ok()
        .filter(|_| prefix.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|len| IpNet::new(ip, len).ok())
        .ok_or_else(|| {
            format!(
                "{shown} is not an IP range: the number after the / must be from 0 to {max} \
                 for an {} address.",
                if ip.is_ipv4() { "IPv4" } else { "IPv6" }
            )
        })?;
    let network = net.trunc();
    if network != net {
        return Err(format!(
            "{shown} has bits set after its /{len} prefix. Write {network} for the whole \
             network, or {ip} for that one address.",
            len = net.prefix_len()
        ));
    }
    Ok(mapped_to_v4(net))
}

/// `::ffff:a.b.c.d/n` (n ≥ 96) is the IPv4 range `a.b.c.d/(n-96)`.
fn mapped_to_v4(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && let Ok(v4net) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4net);
    }
    net
}

/// An entry as an error message quotes it: escaped, and cut short when long.
fn quoted(entry: &str) -> String {
    const LONGEST: usize = 50;
    if entry.chars().count() > LONGEST {
        let head: String = entry.chars().take(LONGEST).collect();
        format!("{:?}", format!("{head}…"))
    } else {
        format!("{entry:?}")
    }
}

/// The stored form: canonical CIDRs separated by single spaces ('' = any address).
pub fn to_column(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stored form read back; anything unparsable is skipped.
pub fn from_column(s: &str) -> Vec<IpNet> {
    s.split_whitespace()
        .filter_map(|e| e.parse::<IpNet>().ok())
        .collect()
}

/// May a request from `ip` use a credential restricted to `nets`? An empty list
/// allows any address; a non-empty one refuses a request with no known address.
pub fn permits(nets: &[IpNet], ip: Option<IpAddr>) -> bool {
    if nets.is_empty() {
        return true;
    }
    let Some(ip) = ip else {
        return false;
    };
    let ip = ip.to_canonical();
    nets.iter().any(|net| net.contains(&ip))
}

/// A list as a person reads it: "10.0.0.0/8, 2001:db8::/32" (single hosts without
/// their /32 or /128).
pub fn describe(nets: &[IpNet]) -> String {
    nets.iter()
        .map(|n| host_or_net(*n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One range as a person reads it: a single host as its bare address.
pub fn host_or_net(net: IpNet) -> String {
    match net {
        IpNet::V4(n) if n.prefix_len() == 32 => n.addr().to_string(),
        IpNet::V6(n) if n.prefix_len() == 128 => n.addr().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn column(input: &str) -> String {
        to_column(&parse(input).unwrap())
    }

    #[test]
    fn accepted_input_is_stored_canonically() {
        #[rustfmt::skip]
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("   \n\t , ,", ""),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("203.0.113.7", "203.0.113.7/32"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("2001:DB8:0:0::/32", "2001:db8::/32"),
            ("2001:0db8:0000::/48", "2001:db8::/48"),
            // Separators: commas, spaces, tabs, newlines (CRLF too), mixed.
            ("10.0.0.0/8,192.168.1.0/24", "10.0.0.0/8 192.168.1.0/24"),
            ("10.0.0.0/8, 192.168.1.0/24", "10.0.0.0/8 192.168.1.0/24"),
            ("10.0.0.0/8\r\n192.168.1.0/24\n", "10.0.0.0/8 192.168.1.0/24"),
            ("10.0.0.0/8\t2001:db8::/32", "10.0.0.0/8 2001:db8::/32"),
            // Sorted, IPv4 first; duplicates (however written) once.
            ("2001:db8::/32 10.0.0.0/8 10.0.0.0/8", "10.0.0.0/8 2001:db8::/32"),
            ("192.168.0.1, 192.168.0.1/32", "192.168.0.1/32"),
            ("2001:db8::/32 2001:0DB8::/32", "2001:db8::/32"),
            // Overlapping ranges are kept as typed (no silent merging).
            ("10.0.0.0/8 10.1.0.0/16", "10.0.0.0/8 10.1.0.0/16"),
            // Whole address families.
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::/0", "::/0"),
            // IPv4-mapped IPv6 is IPv4.
            ("::ffff:10.1.2.3", "10.1.2.3/32"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:0:0/96", "0.0.0.0/0"),
            // A /32 and /128 with no host bits are fine.
            ("10.1.2.3/32 ::1/128", "10.1.2.3/32 ::1/128"),
        ];
        for (input, stored) in cases {
            assert_eq!(column(input), *stored, "{input:?}");
            // The stored form reads back as itself.
            assert_eq!(to_column(&from_column(stored)), *stored, "{stored:?}");
        }
    }

    #[test]
    fn refused_input_names_the_entry_and_what_to_write() {
        #[rustfmt::skip]
        let cases: &[(&str, &[&str])] = &[
            ("10.0.0.1/8", &["\"10.0.0.1/8\"", "bits set after its /8 prefix", "10.0.0.0/8 for the whole network", "10.0.0.1 for that one address"]),
            ("2001:db8::1/32", &["\"2001:db8::1/32\"", "2001:db8::/32", "2001:db8::1 for that one"]),
            ("10.0.0.300", &["\"10.0.0.300\" is not an IP address or range", "203.0.113.7"]),
            ("example.com", &["\"example.com\" is not an IP address or range"]),
            ("10.0.0.0/33", &["\"10.0.0.0/33\"", "from 0 to 32 for an IPv4 address"]),
            ("2001:db8::/129", &["from 0 to 128 for an IPv6 address"]),
            ("10.0.0.0/", &["\"10.0.0.0/\"", "from 0 to 32"]),
            ("10.0.0.0/+8", &["\"10.0.0.0/+8\"", "from 0 to 32"]),
            ("10.0.0.0/8/8", &["\"10.0.0.0/8/8\""]),
            ("10.0.0/8", &["\"10.0.0/8\" is not an IP range: \"10.0.0\" is not an IP address"]),
            ("/8", &["\"/8\" is not an IP range"]),
            ("fe80::1%eth0", &["\"fe80::1%eth0\""]),
            ("10.0.0.0-10.0.0.255", &["\"10.0.0.0-10.0.0.255\""]),
            ("*", &["\"*\""]),
            // The good entries do not hide the bad one.
            ("10.0.0.0/8\nnope\n192.168.0.0/16", &["\"nope\""]),
            // Control characters are shown escaped; long entries cut short.
            ("a\u{7}b", &["\"a\\u{7}b\""]),
        ];
        for (input, wanted) in cases {
            let message = parse(input).unwrap_err();
            for w in *wanted {
                assert!(message.contains(w), "{input:?}: {message}");
            }
        }
        let long = "1".repeat(500);
        let message = parse(&long).unwrap_err();
        assert!(message.len() < 300, "{message}");
        assert!(message.contains('…'), "{message}");
    }

    #[test]
    fn several_bad_entries_are_named_then_counted() {
        let message = parse("a b 10.0.0.0/8 c d e").unwrap_err();
        for named in ["\"a\"", "\"b\"", "\"c\""] {
            assert!(message.contains(named), "{message}");
        }
        assert!(!message.contains("\"d\""), "{message}");
        assert!(
            message.ends_with("2 more entries are not valid either."),
            "{message}"
        );
        let message = parse("a b c d").unwrap_err();
        assert!(
            message.ends_with("1 more entry is not valid either."),
            "{message}"
        );
    }

    #[test]
    fn at_most_a_hundred_distinct_ranges() {
        let hundred: Vec<String> = (0..100).map(|i| format!("10.0.{i}.0/24")).collect();
        assert_eq!(parse(&hundred.join("\n")).unwrap().len(), 100);
        // Duplicates do not count against the limit.
        let twice = format!("{}\n{}", hundred.join("\n"), hundred.join(","));
        assert_eq!(parse(&twice).unwrap().len(), 100);
        let too_many = format!("{}\n10.1.0.0/24", hundred.join("\n"));
        let message = parse(&too_many).unwrap_err();
        assert!(
            message.contains("at most 100 IP ranges; this list has 101"),
            "{message}"
        );
    }

    #[test]
    fn the_stored_column_skips_what_it_cannot_read() {
        assert!(from_column("").is_empty());
        assert!(from_column("   ").is_empty());
        assert_eq!(
            to_column(&from_column("10.0.0.0/8  junk 2001:db8::/32 10.0.0.0/99")),
            "10.0.0.0/8 2001:db8::/32"
        );
    }

    #[test]
    fn permits_table() {
        let list = parse("10.0.0.0/8 192.168.1.7 2001:db8::/32").unwrap();
        let host6 = parse("2001:db8::42").unwrap();
        #[rustfmt::skip]
        let cases: &[(&[IpNet], Option<IpAddr>, bool)] = &[
            // No list: anyone, even without an address.
            (&[], None, true),
            (&[], ip("203.0.113.1"), true),
            (&[], ip("2001:db8::1"), true),
            // A list: only addresses inside it; no address is refused.
            (&list, None, false),
            (&list, ip("10.0.0.0"), true),
            (&list, ip("10.255.255.255"), true),
            (&list, ip("11.0.0.0"), false),
            (&list, ip("9.255.255.255"), false),
            (&list, ip("192.168.1.7"), true),
            (&list, ip("192.168.1.8"), false),
            (&list, ip("2001:db8::1"), true),
            (&list, ip("2001:db8:ffff::1"), true),
            (&list, ip("2001:db9::1"), false),
            // IPv4-mapped IPv6 clients are matched as IPv4.
            (&list, ip("::ffff:10.1.2.3"), true),
            (&list, ip("::ffff:192.168.1.7"), true),
            (&list, ip("::ffff:11.1.2.3"), false),
            // …but not IPv4-compatible or NAT64 addresses, nor IPv4 against IPv6 ranges.
            (&list, ip("::10.1.2.3"), false),
            (&list, ip("64:ff9b::a01:203"), false),
            (&host6, ip("2001:db8::42"), true),
            (&host6, ip("2001:db8::43"), false),
            (&host6, ip("10.0.0.1"), false),
            (&host6, None, false),
        ];
        for (nets, addr, expected) in cases {
            assert_eq!(
                permits(nets, *addr),
                *expected,
                "{:?} from {addr:?}",
                to_column(nets)
            );
        }
        // A mapped range in the list matches plain IPv4 clients too.
        let mapped = parse("::ffff:10.0.0.0/104").unwrap();
        assert!(permits(&mapped, ip("10.9.9.9")));
        assert!(permits(&mapped, ip("::ffff:10.9.9.9")));
        assert!(!permits(&parse("::/0").unwrap(), ip("10.0.0.1")));
        assert!(permits(&parse("0.0.0.0/0").unwrap(), ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn lists_read_as_people_write_them() {
        let list = parse("2001:db8::/32 10.0.0.0/8 203.0.113.7 2001:db8::1").unwrap();
        assert_eq!(
            describe(&list),
            "10.0.0.0/8, 203.0.113.7, 2001:db8::/32, 2001:db8::1"
        );
        assert_eq!(describe(&[]), "");
    }
}
