"""Dates: reading a date string (``parse``), the dates a page shows (``datelines``, in the
words of ``datewords``), choosing the publication time (``published``) and the zone a page
writes local times in (``zones``)."""
