"""The admin console's reports on the record of answers served: conversations, gaps, dashboard figures."""
