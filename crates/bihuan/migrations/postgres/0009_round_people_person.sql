-- Lab results find a person's rounds awaiting a result by person.
CREATE INDEX round_people_person ON round_people (person_id)
