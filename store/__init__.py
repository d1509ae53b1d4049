from store.models import *
