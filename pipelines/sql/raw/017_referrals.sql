-- Referrals: NRM, MACE panel, Channel, early help.
create table if not exists raw.referrals (
    person_id varchar not null,
    referred_at timestamptz not null,
    type varchar not null,
    outcome varchar,
    file_id varchar not null,
    line bigint
);
