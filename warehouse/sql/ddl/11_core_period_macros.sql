-- Period arithmetic on canonical codes, for periods the warehouse may not hold
-- (derived ones). transforms/periods.py is the reference; a test checks both agree.
-- The same period a year before.
create or replace macro core.base_period(p, t) as
    case t
        when 'year' then printf('%04d', cast(p as integer) - 1)
        when 'ytd' then printf('%04d-01/%04d', cast(substr(p, 1, 4) as integer) - 1,
                               cast(substr(p, 1, 4) as integer) - 1) || substr(p, 13)
        else printf('%04d', cast(substr(p, 1, 4) as integer) - 1) || substr(p, 5)
    end;

-- The period of the same type just before.
create or replace macro core.previous_period(p, t) as
    case t
        when 'year' then printf('%04d', cast(p as integer) - 1)
        when 'half' then case substr(p, 7, 1)
            when '2' then substr(p, 1, 4) || '-S1'
            else printf('%04d-S2', cast(substr(p, 1, 4) as integer) - 1) end
        when 'quarter' then case substr(p, 7, 1)
            when '1' then printf('%04d-Q4', cast(substr(p, 1, 4) as integer) - 1)
            else substr(p, 1, 4) || '-Q' || (cast(substr(p, 7, 1) as integer) - 1) end
        when 'month' then case substr(p, 6, 2)
            when '01' then printf('%04d-12', cast(substr(p, 1, 4) as integer) - 1)
            else printf('%s-%02d', substr(p, 1, 4), cast(substr(p, 6, 2) as integer) - 1) end
        when 'ytd' then case substr(p, 14, 2)
            when '01' then printf('%04d-01/%04d-12', cast(substr(p, 1, 4) as integer) - 1,
                                  cast(substr(p, 1, 4) as integer) - 1)
            else printf('%s-01/%s-%02d', substr(p, 1, 4), substr(p, 1, 4), cast(substr(p, 14, 2) as integer) - 1) end
    end;
