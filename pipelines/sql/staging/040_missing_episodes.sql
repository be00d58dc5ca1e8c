-- Missing and away episodes, each once: the partnership's own files and SSDA903 returns both record them.
-- Rule (docs/missing.md): an SSDA903 episode that overlaps an episode of the same child from any other source
-- is the same episode and is left out; the other source's row is kept, because it carries times to the
-- minute, where the child was found, who with, and the return home interview, which a return does not. Its
-- ssda903_episode_ids lists the return's episodes it stands for. An SSDA903 date covers the whole local day
-- (an episode from 3 to 5 March runs until the end of 5 March); an episode with no end is still open. A child
-- known to one source only keeps every episode.
create or replace view staging.missing_episodes as
with
returns as (
    select * from raw.missing_episodes where source = 'ssda903'
),
recorded as (
    select * from raw.missing_episodes where source <> 'ssda903'
),
pairs as (
    select recorded.episode_id as recorded_id, returns.episode_id as return_id
    from recorded
    join returns
        on returns.person_id = recorded.person_id
        and recorded.started_at < coalesce(returns.ended_at + interval 1 day, 'infinity'::timestamptz)
        and returns.started_at <= coalesce(recorded.ended_at, 'infinity'::timestamptz)
),
stands_for as (
    select recorded_id, list(distinct return_id order by return_id) as ssda903_episode_ids
    from pairs
    group by recorded_id
)
select
    recorded.*,
    true as rhi_recorded,
    stands_for.ssda903_episode_ids
from recorded
left join stands_for on stands_for.recorded_id = recorded.episode_id
union all
select
    returns.*,
    false as rhi_recorded,
    null::varchar[] as ssda903_episode_ids
from returns
anti join pairs on pairs.return_id = returns.episode_id
