//! Who and what the demo organisation is made of: people, teams, app names, the
//! notes developers write and the reasons admins give. Plain data.

/// The organisation.
pub const ORG_NAME: &str = "Northwind Logistics";
pub const ORG_SLUG: &str = "northwind";

/// The instance owner, who also owns the organisation.
pub const OWNER: (&str, &str) = ("Grace Okafor", "grace.okafor@northwind.example");

/// Organisation admins.
pub const ADMINS: [(&str, &str); 2] = [
    ("Daniel Reyes", "daniel.reyes@northwind.example"),
    ("Priya Raman", "priya.raman@northwind.example"),
];

/// The named developers, the first of whom is the printed developer login. Two work
/// for partner companies.
pub const DEVELOPERS: [(&str, &str); 12] = [
    ("Lena Fischer", "lena.fischer@northwind.example"),
    ("Tomás Álvarez", "tomas.alvarez@northwind.example"),
    ("Aiko Tanaka", "aiko.tanaka@northwind.example"),
    ("Marcus Johnson", "marcus.johnson@northwind.example"),
    ("Sofia Rossi", "sofia.rossi@northwind.example"),
    ("Kwame Mensah", "kwame.mensah@northwind.example"),
    ("Elif Yılmaz", "elif.yilmaz@northwind.example"),
    ("Noah Williams", "noah.williams@northwind.example"),
    ("Hannah Schmidt", "hannah.schmidt@northwind.example"),
    ("Arjun Mehta", "arjun.mehta@northwind.example"),
    ("Chloé Martin", "chloe.martin@shopbridge.example"),
    ("Oliver Brennan", "oliver.brennan@fleetly.example"),
];

/// Given and family names for developers beyond the named dozen.
pub const GIVEN: [&str; 24] = [
    "Amara", "Ben", "Carmen", "Dmitri", "Esther", "Farid", "Greta", "Hiroshi", "Ines", "Jakub",
    "Kofi", "Lucía", "Mateo", "Nadia", "Owen", "Paula", "Quentin", "Rosa", "Samir", "Tessa", "Uma",
    "Viktor", "Wen", "Yusuf",
];
pub const FAMILY: [&str; 24] = [
    "Andersen",
    "Baptiste",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fernandes",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "O'Neill",
    "Petrov",
    "Quinn",
    "Ramos",
    "Sato",
    "Thompson",
    "Urbanek",
    "Varga",
    "Weber",
    "Zhou",
];

/// Teams, in the order they are created.
pub const TEAMS: [&str; 8] = [
    "Checkout",
    "Mobile",
    "Warehouse Systems",
    "Partner Integrations",
    "Data Platform",
    "Customer Support Tools",
    "Finance Engineering",
    "Growth",
];

/// People invited who have not accepted yet: (email, role).
pub const OPEN_INVITATIONS: [(&str, &str); 3] = [
    ("jonas.berg@northwind.example", "developer"),
    ("fatima.zahra@fleetly.example", "developer"),
    ("ravi.kumar@northwind.example", "admin"),
];

/// App names with what each does (its description).
pub const APPS: [(&str, &str); 40] = [
    (
        "Checkout Web",
        "The storefront's checkout: basket, shipping choice and payment.",
    ),
    (
        "iOS Shopping App",
        "Northwind's iPhone app: browse, order and track parcels.",
    ),
    (
        "Android Shopping App",
        "Northwind's Android app, built from the same Kotlin codebase as the driver app.",
    ),
    (
        "Android Driver App",
        "Proof of delivery and route updates for our own drivers.",
    ),
    (
        "Warehouse Scanner",
        "Handheld scanners on the packing line mark orders as packed.",
    ),
    (
        "Returns Portal",
        "Customers print a return label and get their refund when the parcel arrives.",
    ),
    (
        "Fraud Scoring Service",
        "Scores each payment before capture; holds risky orders for review.",
    ),
    (
        "Nightly Reconciliation",
        "Matches captured payments against the bank's settlement file every night.",
    ),
    (
        "Partner Sandbox",
        "A playground for partner developers, reset every Monday.",
    ),
    (
        "Shopify Connector",
        "Imports orders from merchants' Shopify stores.",
    ),
    (
        "Fleet Tracker",
        "Live positions of delivery vans for the customer tracking page.",
    ),
    (
        "Invoice Exporter",
        "Sends monthly invoices to the accounting system.",
    ),
    (
        "Slack Order Bot",
        "Posts large and unusual orders to #ops-orders.",
    ),
    (
        "Data Lake Ingest",
        "Streams orders and shipments into the data lake every five minutes.",
    ),
    (
        "BI Dashboard",
        "Sales and delivery dashboards for the leadership team.",
    ),
    (
        "Support Console",
        "Lets the support team look up an order and issue refunds.",
    ),
    (
        "Loyalty Points Service",
        "Awards points on delivered orders and applies them at checkout.",
    ),
    (
        "Price Comparison Feed",
        "Publishes prices and delivery costs to comparison sites.",
    ),
    (
        "Legacy ERP Bridge",
        "Keeps the old ERP in step until it is switched off.",
    ),
    (
        "Marketing Site",
        "Shows live delivery estimates on the marketing pages.",
    ),
    (
        "Load Test Harness",
        "Replays production traffic against staging before releases.",
    ),
    (
        "Label Printer Agent",
        "Prints shipping labels on the warehouse's Zebra printers.",
    ),
    (
        "Subscription Boxes",
        "Monthly tea subscriptions: creates an order on each renewal.",
    ),
    (
        "Gift Card Service",
        "Issues and redeems gift cards at checkout.",
    ),
    (
        "Carrier Rate Sync",
        "Refreshes carrier price tables every hour.",
    ),
    (
        "Customer Email Service",
        "Sends order confirmation and dispatch emails.",
    ),
    (
        "Stock Forecasting",
        "Predicts stock needs from order history.",
    ),
    (
        "Click and Collect",
        "Orders picked up in shop: tells the shop when to expect them.",
    ),
    (
        "Accounting Sync",
        "Posts payments and refunds to the general ledger.",
    ),
    (
        "Chargeback Handler",
        "Gathers delivery evidence when a customer disputes a payment.",
    ),
    (
        "Address Autocomplete",
        "Completes addresses at checkout and checks they are deliverable.",
    ),
    (
        "Mobile Backend",
        "The API gateway behind both shopping apps.",
    ),
    (
        "Recommendation Engine",
        "Suggests products from what customers bought before.",
    ),
    ("Tax Calculator", "Works out VAT for cross-border orders."),
    (
        "Courier Webhook Relay",
        "Receives courier status updates and forwards them to Orders.",
    ),
    (
        "Internal Admin Tool",
        "Back-office tool for the operations team.",
    ),
    (
        "Partner Reporting",
        "Weekly sales reports for marketplace partners.",
    ),
    (
        "QA Automation",
        "End-to-end tests that run against staging on every merge.",
    ),
    (
        "Order Status Widget",
        "An embeddable widget partners put on their order pages.",
    ),
    (
        "Warehouse Robotics Bridge",
        "Passes picking lists to the warehouse robots' controller.",
    ),
];

/// Notes developers write when they ask for a product.
pub const REQUEST_NOTES: [&str; 6] = [
    "Needed for the new checkout flow we launch next sprint.",
    "We read profiles to prefill the returns form; nothing is stored.",
    "Replacing our old direct database access with the API, as agreed with the platform team.",
    "Partner integration go-live is planned for the first of next month.",
    "Read-only use for the support team's order lookup.",
    "Moving the nightly job from CSV exports to the API.",
];

/// Reasons admins give for a rejection.
pub const REJECTIONS: [&str; 4] = [
    "Customer data needs a signed data processing agreement first; ask partnerships@northwind.example for one.",
    "Please test against the sandbox first: production payments need a security review, booked via the platform team.",
    "This duplicates the Support Console's access; use that app instead of a new one.",
    "The request does not say what the data is used for. Send a new request with the purpose and retention period.",
];

/// Reasons admins give for a suspension.
pub const SUSPENSIONS: [&str; 3] = [
    "Retry loop sent 40 times the usual traffic overnight; suspended until the client backs off properly.",
    "Its API key was found in a public GitHub repository. Rotate the key, then ask us to resume the app.",
    "The partner contract is under review; suspended until legal confirms it is renewed.",
];

/// Reasons given when an app is revoked.
pub const REVOCATIONS: [&str; 3] = [
    "Integration retired: replaced by the new Mobile Backend.",
    "Partner contract ended at the end of the quarter.",
    "Proof of concept finished; not going to production.",
];

/// Labels of first and rotated credentials.
pub const LABELS: [&str; 5] = ["production", "staging", "CI", "production (eu-west)", ""];
