"""Following up the support reporters ask for (a caseworker or ISVA): the coordinators'
queue, each request's status and sealed note, and writing to the reporter's account."""
