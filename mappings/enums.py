"""Enumerations spelled exactly as the PSA's API spells them, shared by its adapter and the billing rules."""

from enum import StrEnum


class ContractType(StrEnum):
    RETAINER_FLAT_FEE = "RetainerFlatFee"
    HOURLY = "Hourly"
    BLOCK_HOURS = "BlockHours"
    BLOCK_MONEY = "BlockMoney"
    REMOTE_MONITORING = "RemoteMonitoring"
    ONLINE_BACKUP = "OnlineBackup"
    PROJECT_ONE_TIME_FEE = "ProjectOneTimeFee"
    PROJECT_HOURLY_RATE = "ProjectHourlyRate"


class BillingPeriod(StrEnum):
    # The UI's "Bi-monthly" is the API's BiWeekly; this project reads both as twice a month.
    END_OF_CONTRACT_DURATION = "EndOfContractDuration"
    WEEKLY = "Weekly"
    BI_WEEKLY = "BiWeekly"
    MONTHLY = "Monthly"
    QUARTERLY = "Quarterly"
    TWICE_A_YEAR = "TwiceAYear"
    YEARLY = "Yearly"
    ON_DEMAND = "OnDemand"


class CountBy(StrEnum):
    PC_AGENTS = "PCAgents"
    SERVER_AGENTS = "ServerAgents"
    MAC_AGENTS = "MacAgents"
    OTHER_DEVICES = "OtherDevices"
    AGENTS_ONLY = "AgentsOnly"
    ALL = "All"
    PCS_TOTAL_GB = "PCsTotalGB"
    SERVERS_TOTAL_GB = "ServersTotalGB"
    TOTAL_GB = "TotalGB"


class Unit(StrEnum):
    GB = "GB"
    DEVICE = "device"
    USER = "user"
    HOUR = "hour"
    UNIT = "unit"
