language-name = English

## lib.rs
something-went-wrong = Something went wrong
back-to-the-home-page = Back to the home page
error = Error
file-a-request = File a request
track = Track
staff-login = Staff login
workbench = Workbench
cases = Cases
file-for-a-resident = File for a resident
statistics = Statistics
hot-topics = Hot topics
administration = Administration
log-out = Log out
suqiu-requests = suqiu requests
small-matters-stay-in-the-village = Small matters stay in the village, big ones in the township
security-check-failed-submit-forms-from = Security check failed: submit forms from this site's pages (the page may have expired; reload it and retry).
the-form-is-too-large-photos = The form is too large (photos: 20 MB together at most).
the-form-could-not-be-read = The form could not be read; reload the page and retry.

## forms.rs
please-choose-the-village-community-or = Please choose the village/community or grid
this-cannot-be-done-in-the = This cannot be done in the case's current state (someone may have acted on it; reload the page)
your-unit-or-role-may-not = Your unit or role may not do this
a-case-cannot-be-merged-into = A case cannot be merged into itself; choose another case as the primary
someone-updated-this-case-meanwhile-check = Someone updated this case meanwhile; check it and submit again
case-not-found-or-not-visible = Case not found (or not visible to you)
the-tracking-code-or-the-last = The tracking code or the last four digits of the phone do not match
staff-may-not-rate-or-change = Staff may not rate or change the contact as the resident; record a revisit rating on the case page
too-many-submissions-please-try-later = Too many submissions; please try later or call 12345
the-proxy-channel-is-for-grid = The proxy channel is for grid workers; choose another channel
the-accusation-names-the-whole-district = The accusation names the whole district and no higher oversight organ is configured; ask the administrator
choose-the-accused-unit-from-the = Choose the accused unit from the list
photos-must-be-jpeg-png-or = Photos must be JPEG, PNG or WebP images
a-photo-file-is-damaged-or = A photo file is damaged or incomplete; take it again or choose another photo
wrong-login-or-password = Wrong login or password
too-many-failed-attempts-try-again = Too many failed attempts; try again in 15 minutes
the-system-could-not-process-this = The system could not process this; nothing was saved, please retry later
between-1-and-365-working-days = Between 1 and 365 working days
choose-a-category-from-the-list = Choose a category from the list
an-accusation-is-never-sent-to = An accusation is never sent to the accused unit
the-lead-unit-cannot-also-cooperate = The lead unit cannot also cooperate
choose-a-district-department = Choose a district department
choose-a-unit-from-the-list = Choose a unit from the list
too-long = Too long
please-fill-this-in = Please fill this in
this-value-is-not-accepted = This value is not accepted

## words.rs
ordinary-3-working-days = ordinary (3 working days)
difficult-15-working-days = difficult (15 working days)
especially-difficult-leader-sets-the-deadline = especially difficult (leader sets the deadline)
district = district
township-street = township/street
village-community = village/community
grid = grid
hamlet = hamlet
department = department
oversight-organ = oversight organ
triage-the-same-day = triage the same day
resolve-or-report-the-same-day = resolve or report the same day
explain-the-policy-in-person = explain the policy in person
sign-the-same-day = sign the same day
accept-and-contact-the-same-day = accept and contact the same day
finish = finish
re-dispatch = re-dispatch
handle-again = handle again
supervised-deadline = supervised deadline
leaders-deadline = leader's deadline
street-handling = street handling
by-the-resident = by the resident
phone-callback = phone callback
home-visit = home visit
leaders-revisit = leader's revisit
resident = resident
system = system
same-resident = same resident
same-place-same-problem = same place, same problem
similar-text = similar text
received = received
note-added = note added
photo-attached = photo attached
triaged = triaged
reported-to-the-street = reported to the street
signed-for = signed for
assigned-by-the-street = assigned by the street
dispatched = dispatched
accepted = accepted
returned = returned
cooperation-reported = cooperation reported
leaders-deadline-requested = leader's deadline requested
leaders-deadline-set = leader's deadline set
replied = replied
explained = explained
rated = rated
rating-read = rating read
reopened = reopened
closed = closed
owned-by-a-leader = owned by a leader
supervised = supervised
interview-recorded = interview recorded
deadline-set = deadline set
deadline-cleared = deadline cleared
due-soon = due soon
deadline-counted-again = deadline counted again
overdue = overdue
urgent-signal = urgent signal
merged = merged
duplicate-merged = duplicate merged
related-case-linked = related case linked
contact-changed = contact changed
forwarded-to-oversight = forwarded to oversight
working-days = working days
calendar-days = calendar days
the-same-working-day-or-the = the same working day (or the next)

## forms.rs (with variables)
case-is-closed-and-cannot-take = Case #{ $id } is closed and cannot take a duplicate; choose an open case
case-was-itself-merged-into-another = Case #{ $id } was itself merged into another case; merge into its primary
case-not-found-or-outside-your = Case #{ $id } not found, or outside your part of the district
each-photo-may-be-at-most = Each photo may be at most { $max } MB
at-most-photos = At most { $max } photos
the-photos-may-take-at-most = The photos may take at most { $max } MB together
the-login-is-taken = The login '{ $l }' is taken
a-cannot-belong-to-a-unit = A { $role_code } cannot belong to a unit of level { $level_code }
the-unit-code-is-taken = The unit code '{ $c }' is taken
there-is-no-parent-unit-choose = There is no parent unit '{ $c }'; choose one from the list
a-cannot-sit-under-a-district = A { $level_code } cannot sit under a { $parent_code } (district > street or department; street > community > grid > hamlet)
there-is-no-user = There is no user '{ $l }'

## words.rs (with variables)
the-resident-changed-how-they-are = The resident changed how they are notified: { $channel }
received-to-for-triage = Received ({ $channel }), to { $unit_name } for triage
note = Note: { $text }
photo-attached-2 = Photo { $photo } attached
triaged-2 = Triaged: { $en }, { $category }
reported-to = Reported to { $unit_name } { $n }
signed-for-by = Signed for by { $unit_name }
handled-by-the-street-responsible = Handled by the street; responsible: { $responsible }
dispatched-lead = Dispatched: lead { $unit_name }{ $cooperating }, { $difficulty }
accepted-by-contact = Accepted by { $unit_name }; contact: { $contact_note }
returned-by = Returned by { $unit_name }: { $reason }
cooperation-report-from = Cooperation report from { $unit_name }: { $text }
asked-the-leader-for-a-deadline = { $unit_name } asked the leader for a deadline: { $reason }
leader-set-the-deadline = Leader { $leader } set the deadline
reply-from = Reply from { $unit_name }: { $result }{ $basis }
visited-on-to-explain = { $visited_by } visited on { $when } to explain: { $policy_basis } { $n }
rated-2 = Rated { $en } ({ $via }) { $c }
read-the-rating = { $unit_name } read the rating
reopened-to = Reopened, to { $unit_name }: { $reason }
closed-2 = Closed { $x }
took-ownership = { $leader } took ownership
supervised-by = Supervised by { $leader }: { $note }
interviewed-of = { $leader } interviewed { $head } of { $unit_name }: { $note }
deadline-counted-again-with-the-holiday = Deadline '{ $rule }' counted again with the holiday calendar: { $due } (was { $was }){ $provisional ->
        [yes] , still provisional
       *[no] {""}
    }
deadline-ended = Deadline '{ $rule }' ended
deadline-is-due-soon = Deadline '{ $rule }' is due soon
deadline-overdue = Deadline '{ $rule }' overdue{ $leader ->
        [none] {""}
       *[other] ; leader { $leader } to supervise
    }
danger-signals-told = Danger signals: { $signals }; { $leader ->
        [none] the triage unit
       *[other] { $leader }
    } told
related-to-case-similarity = Related to case #{ $case_id } ({ $why }, similarity { $score })
merged-as-a-duplicate-into-another = Merged as a duplicate into another case: { $reason }
merged-as-a-duplicate-into-case = Merged as a duplicate into case #{ $into }: { $reason }
duplicate-merged-into-this-case = Duplicate #{ $case_id } merged into this case: { $reason }
accusation-forwarded-to = Accusation forwarded to { $name }: { $reason }

## html.rs (with variables)
by-the-end-of = by the end of { $d }

## forms.rs (by hand)
cannot-remove-sub-units = Cannot remove: it still has sub-units
cannot-remove-staff = Cannot remove: staff or linked leaders belong to it
cannot-remove-cases = Cannot remove: cases have passed through it (rename it instead)
cannot-remove-routing = Cannot remove: routing decisions chose it (rename it instead)
field-missing = Please fill this in
field-too-long = Too long: at most { $max } characters
field-invalid-phone = Not a valid phone number: an 11-digit mobile or a landline with area code
field-invalid-id-number = Not a valid ID number: 18 characters; check the last one
field-control-characters = Contains invisible characters; please retype it
field-weak-password = At least 10 characters, with three of upper case, lower case, digits, symbols
field-invalid-value = Please choose from the list or enter a valid value
field-unknown = Unknown field
field-invalid-email = Not a valid e-mail address, e.g. zhangsan@example.cn
dispatched-cooperating = , cooperating { $units }
list-separator = ,{" "}
reply-policy-basis = {" "}(policy basis: { $basis })
deadline-set-for = Deadline: { $rule } for { $unit }, { $due }{ $provisional ->
        [yes] {" "}(provisional)
       *[no] {""}
    }{ $after_hours ->
        [yes] {" "}(received outside office hours: counted from the next working day)
       *[no] {""}
    }
contact-sms = SMS
contact-email = e-mail
contact-none = no notifications
topics-none = No hot topic in the last { $days } days (one problem at one place reported at least twice).
topics-case-count = { $n } cases: 
topics-last-days = Last { $days } days
topics-heading = Hot topics of the last { $days } days
topics-link-days = last { $days } days
